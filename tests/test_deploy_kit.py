"""deploy/: the Grafana dashboard and the Prometheus alerts query only metrics the app exports.

A test app gets some traffic (a code issued, a code owed and texted by the worker, a refused
signature, a delivery status), then its /metrics page is compared with every metric name the
dashboard's panels and the alert rules use. `promtool check rules` and `promtool test rules`
run in scripts/alerts-check (CI), where Debian's promtool is installed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ACCOUNT_SID, inbound_form, post_signed, send_text, wait_for

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
DASHBOARD = DEPLOY / "grafana" / "selfserve.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
METRIC = re.compile(r"\bselfserve_[a-z0-9_]+")
# The outage spool (issue 29) exports these; until it is merged they are the only names the
# dashboard and alerts may use without the app exporting them.
PROVIDED_BY_THE_SPOOL = {"selfserve_spool_depth", "selfserve_spool_oldest_age_seconds"}


def dashboard_queries() -> dict[str, list[str]]:
    """{panel title: its queries}, panels nested in rows included."""
    found: dict[str, list[str]] = {}
    panels = list(json.loads(DASHBOARD.read_text())["panels"])
    while panels:
        panel = panels.pop()
        panels.extend(panel.get("panels", []))
        if panel.get("type") != "row":
            found[panel["title"]] = [target["expr"] for target in panel.get("targets", [])]
    return found


def alert_queries() -> dict[str, str]:
    """{alert name: its expression}."""
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def _exported_after_traffic(app, client, talon_stand_in) -> set[str]:
    send_text(client, "SPRING", sender="+61491570331")  # a code issued
    client.post("/webhooks/twilio/sms", data=inbound_form("SPRING"))  # unsigned: 403
    talon_stand_in.down = True
    send_text(client, "SPRING", sender="+61491570332")  # owed, for the worker
    talon_stand_in.down = False
    status = {
        "MessageSid": "SM" + "0" * 32,
        "MessageStatus": "delivered",
        "AccountSid": ACCOUNT_SID,
    }
    post_signed(client, status, "/webhooks/twilio/status")

    def page() -> str:
        return client.get("/metrics").get_data(as_text=True)

    wait_for(lambda: "selfserve_outbound_sms_total{" in page(), what="the owed code texted")
    wait_for(lambda: "selfserve_worker_heartbeat_age_seconds" in page(), what="a heartbeat")
    return {
        sample.name
        for family in text_string_to_metric_families(page())
        for sample in family.samples
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # names, not the database
def test_every_metric_the_dashboard_and_alerts_use_is_exported(app, client, talon_stand_in, worker):
    exported = _exported_after_traffic(app, client, talon_stand_in)
    used = {
        f"panel {title!r}": set(METRIC.findall(" ".join(exprs)))
        for title, exprs in dashboard_queries().items()
    }
    used |= {f"alert {name}": set(METRIC.findall(expr)) for name, expr in alert_queries().items()}

    missing = {
        where: sorted(names - exported - PROVIDED_BY_THE_SPOOL)
        for where, names in used.items()
        if names - exported - PROVIDED_BY_THE_SPOOL
    }
    assert missing == {}
    assert all(used.values()), "every panel and alert queries at least one selfserve metric"
    # The spool's names pass only until the spool exports them; after that, like any other.
    assert PROVIDED_BY_THE_SPOOL & set().union(*used.values()) == PROVIDED_BY_THE_SPOOL


def test_histograms_are_queried_through_their_bucket_sum_and_count_series():
    names = set().union(*(METRIC.findall(" ".join(e)) for e in dashboard_queries().values()))
    assert "selfserve_webhook_seconds_bucket" in names
    assert "selfserve_talon_call_seconds_bucket" in names
    assert not {"selfserve_webhook_seconds", "selfserve_talon_call_seconds"} & names


def test_every_panel_has_a_query_and_the_dashboard_a_datasource_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    assert all(dashboard_queries().values())
    variables = {item["name"]: item["type"] for item in dashboard["templating"]["list"]}
    assert variables.get("datasource") == "datasource"
