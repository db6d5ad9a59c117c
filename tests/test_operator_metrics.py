"""The metrics deploy/prometheus/alerts.yml alerts on: the webhook's statuses and latency, the
outbox, owed codes and the workers' heartbeat (read from shared state at scrape time)."""

from __future__ import annotations

from datetime import timedelta

from selfserve.models import OutboundMessage, utcnow
from selfserve.queue.heartbeat import WorkerHeartbeat
from tests.conftest import inbound_form, send_text, wait_for
from tests.test_ops import sample


def _page(client) -> str:
    return client.get("/metrics").get_data(as_text=True)


def test_the_webhooks_statuses_and_times_are_counted(client, talon_stand_in):
    before = _page(client)
    send_text(client, "SPRING", sender="+61491570321")
    unsigned = client.post("/webhooks/twilio/sms", data=inbound_form("SPRING"))
    after = _page(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert unsigned.status_code == 403
    assert delta("selfserve_webhook_responses_total", status="200") == 1
    assert delta("selfserve_webhook_responses_total", status="403") == 1
    assert delta("selfserve_webhook_seconds_count") == 2
    assert delta("selfserve_webhook_seconds_bucket", le="15.0") == 2
    assert 0 < delta("selfserve_webhook_seconds_sum") < 15


def _outbound(status: str, minutes_ago: float) -> OutboundMessage:
    return OutboundMessage(
        created_at=utcnow() - timedelta(minutes=minutes_ago),
        to_e164="+61491570399",
        body="Your code",
        purpose="deferred_code",
        provider="sandbox",
        status=status,
    )


def test_the_outbox_gauges_count_waiting_and_recently_given_up_texts(app, client):
    services = app.extensions["selfserve"]
    with services.writes.begin() as db:
        db.add_all(
            [
                _outbound("waiting", 1),
                _outbound("waiting", 2),
                _outbound("failed", 3),
                _outbound("uncertain", 4),
                _outbound("failed", 60),  # long ago: no longer "recently"
                _outbound("sent", 1),
            ]
        )
    page = _page(client)
    assert sample(page, "selfserve_outbox_waiting") == 2
    assert sample(page, "selfserve_outbox_failed_recently") == 2


def test_the_oldest_owed_code_has_an_age(client, talon_stand_in):
    assert sample(_page(client), "selfserve_codes_owed_oldest_age_seconds") == 0
    talon_stand_in.down = True  # the code is owed
    send_text(client, "SPRING", sender="+61491570322")
    page = _page(client)
    assert sample(page, "selfserve_codes_owed") == 1
    assert "selfserve_codes_owed_oldest_age_seconds" in page
    assert 0 <= sample(page, "selfserve_codes_owed_oldest_age_seconds") < 60


def test_the_heartbeat_appears_once_a_worker_finishes_a_job(app, client, talon_stand_in, worker):
    assert "selfserve_worker_heartbeat_age_seconds" not in _page(client)  # no worker yet
    talon_stand_in.down = True
    send_text(client, "SPRING", sender="+61491570323")  # owed: a job for the worker
    talon_stand_in.down = False
    wait_for(
        lambda: "selfserve_worker_heartbeat_age_seconds" in _page(client),
        what="the worker's heartbeat",
    )
    assert 0 <= sample(_page(client), "selfserve_worker_heartbeat_age_seconds") < 30


def test_the_heartbeat_is_written_at_most_once_per_period(queue_app):
    huey = queue_app.extensions["selfserve"].jobs.huey  # SQLite, then Redis storage
    now = [1000.0]
    heartbeat = WorkerHeartbeat(huey, every_seconds=5, clock=lambda: now[0])
    assert heartbeat.age_seconds() is None
    heartbeat.beat()
    now[0] = 1003.0
    heartbeat.beat()  # within the period: not written
    assert heartbeat.age_seconds() == 3.0
    now[0] = 1010.0
    heartbeat.beat()
    now[0] = 1011.0
    assert heartbeat.age_seconds() == 1.0
