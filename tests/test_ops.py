"""Operations endpoints: /healthz, /readyz and /metrics; ProxyFix behind a TLS proxy."""

from __future__ import annotations

from dataclasses import replace

from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from tests.conftest import send_text
from tests.stand_ins.server import free_port


def sample(metrics_text: str, name: str, **labels: str) -> float:
    """The value of one sample in a /metrics page (0 when absent)."""
    for family in text_string_to_metric_families(metrics_text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return found.value
    return 0.0


class TestHealth:
    def test_healthz_says_ok_without_touching_anything(self, client):
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json == {"status": "ok"}
        assert response.headers["Cache-Control"] == "no-store"

    def test_readyz_is_ready_when_the_database_answers(self, client):
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json == {
            "status": "ready",
            "checks": {"database": "ok", "migrations": "ok", "queue": "ok"},
        }

    def test_readyz_is_503_naming_the_database_and_no_secret(self, settings):
        password = "s3cret-db-password"  # noqa: S105 - a fake password to look for
        broken = replace(
            settings,
            database_url=f"postgresql+psycopg://selfserve:{password}@127.0.0.1:{free_port()}/x",
        )
        application = create_app(broken)
        try:
            response = application.test_client().get("/readyz")
        finally:
            application.extensions["selfserve"].close()
        assert response.status_code == 503
        assert response.json == {
            "status": "not ready",
            "checks": {"database": "down", "migrations": "unknown", "queue": "ok"},
        }
        assert password not in response.get_data(as_text=True)

    def test_readyz_is_503_until_the_database_is_migrated(self, settings, tmp_path):
        empty = replace(settings, database_url=f"sqlite:///{tmp_path / 'not-migrated.db'}")
        application = create_app(empty)
        try:
            response = application.test_client().get("/readyz")
        finally:
            application.extensions["selfserve"].close()
        assert response.status_code == 503
        assert response.json["checks"] == {"database": "ok", "migrations": "behind", "queue": "ok"}

    def test_readyz_checks_redis_when_it_is_configured(self, settings):
        application = create_app(
            replace(settings, redis_url=f"redis://:hunter2@127.0.0.1:{free_port()}/0")
        )
        try:
            response = application.test_client().get("/readyz")
        finally:
            application.extensions["selfserve"].close()
        assert response.status_code == 503
        assert response.json["checks"]["redis"] == "down"
        assert response.json["checks"]["database"] == "ok"
        assert "hunter2" not in response.get_data(as_text=True)

    def test_probes_need_no_login_and_no_csrf_token(self, client):
        for path in ("/healthz", "/readyz", "/metrics"):
            assert client.get(path).status_code == 200


class TestMetrics:
    def test_answers_and_talon_calls_are_counted(self, client, talon_stand_in):
        before = client.get("/metrics").get_data(as_text=True)
        send_text(client, "SPRING", sender="+61491570301")
        send_text(client, "SPRING", sender="+61491570301")
        send_text(client, "WINTER", sender="+61491570301")
        after = client.get("/metrics").get_data(as_text=True)

        def delta(name: str, **labels: str) -> float:
            return sample(after, name, **labels) - sample(before, name, **labels)

        assert delta("selfserve_webhook_answers_total", outcome="code_issued") == 1
        assert delta("selfserve_webhook_answers_total", outcome="code_resent") == 1
        assert delta("selfserve_webhook_answers_total", outcome="unknown_keyword") == 1
        assert delta("selfserve_talon_calls_total", endpoint="coupon", status="200") == 1
        assert delta("selfserve_talon_call_seconds_count", endpoint="coupon") == 1
        assert delta("selfserve_talon_call_seconds_bucket", endpoint="coupon", le="+Inf") == 1

    def test_a_talon_call_without_an_answer_counts_as_status_0(self, client, talon_stand_in):
        before = client.get("/metrics").get_data(as_text=True)
        talon_stand_in.answer_next(200, delay_seconds=2.5)  # longer than the 2 s timeout
        send_text(client, "SPRING", sender="+61491570302")
        after = client.get("/metrics").get_data(as_text=True)
        name = "selfserve_talon_calls_total"
        assert (
            sample(after, name, endpoint="coupon", status="0")
            - sample(before, name, endpoint="coupon", status="0")
            == 1
        )

    def test_budget_queue_and_owed_codes_are_read_from_shared_state(
        self, client, settings, talon_stand_in
    ):
        send_text(client, "SPRING", sender="+61491570311")
        page = client.get("/metrics").get_data(as_text=True)
        assert sample(page, "selfserve_talon_budget_used") == 1
        assert sample(page, "selfserve_talon_budget_limit") == settings.talon_rate_limit_per_minute
        assert sample(page, "selfserve_codes_owed") == 0
        assert sample(page, "selfserve_queue_oldest_job_age_seconds") == 0
        talon_stand_in.down = True  # 503: the code is owed and queued
        send_text(client, "SPRING", sender="+61491570312")
        page = client.get("/metrics").get_data(as_text=True)
        assert sample(page, "selfserve_codes_owed") == 1
        assert (
            sample(page, "selfserve_queue_depth") + sample(page, "selfserve_queue_scheduled") >= 1
        )
        assert 0 <= sample(page, "selfserve_queue_oldest_job_age_seconds") < 60
        assert "selfserve_queue_oldest_job_age_seconds" in page

    def test_the_page_is_prometheus_text_without_phone_numbers(self, client):
        send_text(client, "SPRING", sender="+61491570303")
        response = client.get("/metrics")
        assert response.mimetype == "text/plain"
        body = response.get_data(as_text=True)
        assert "491570303" not in body
        assert list(text_string_to_metric_families(body))


class TestBehindAProxy:
    def _app_with_echo(self, settings, hops):
        application = create_app(replace(settings, trusted_proxy_hops=hops))

        @application.get("/_echo")
        def echo():
            from flask import request

            return {"remote_addr": request.remote_addr, "scheme": request.scheme}

        return application

    def test_trusted_hops_give_the_customers_address_and_scheme(self, settings):
        application = self._app_with_echo(settings, hops=1)
        answer = application.test_client().get(
            "/_echo",
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
        )
        application.extensions["selfserve"].close()
        assert answer.json == {"remote_addr": "203.0.113.9", "scheme": "https"}

    def test_without_trusted_hops_forwarded_headers_are_ignored(self, settings):
        application = self._app_with_echo(settings, hops=0)
        answer = application.test_client().get(
            "/_echo",
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
        )
        application.extensions["selfserve"].close()
        assert answer.json == {"remote_addr": "10.0.0.2", "scheme": "http"}

    def test_signed_webhooks_still_verify_behind_the_proxy(self, settings):
        from tests.conftest import (
            SPRING_CAMPAIGNS,
            import_campaigns_text,
            inbound_form,
            signature_for,
        )

        application = create_app(replace(settings, trusted_proxy_hops=1))
        import_campaigns_text(application, SPRING_CAMPAIGNS)
        form = inbound_form("SPRING", sender="+61491570304")
        headers = {
            "X-Twilio-Signature": signature_for("/webhooks/twilio/sms", form),
            "X-Forwarded-For": "54.172.60.1",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "internal.example",
        }
        answer = application.test_client().post("/webhooks/twilio/sms", data=form, headers=headers)
        application.extensions["selfserve"].close()
        assert answer.status_code == 200


def test_webhook_counts_from_many_threads_all_reach_the_counter():
    """PendingCounts gathers counts without a lock: none may be lost or counted twice."""
    import threading

    from prometheus_client import CollectorRegistry, Counter

    from selfserve.ops import PendingCounts

    registry = CollectorRegistry()
    answers = Counter("answers", "test", ["outcome"], registry=registry)
    pending = PendingCounts(answers, interval=0.01)  # its thread flushes while threads add

    def text_away(outcome: str) -> None:
        for _ in range(2000):
            pending.add(outcome)

    threads = [
        threading.Thread(target=text_away, args=(outcome,))
        for outcome in ["code_issued", "code_resent"] * 4
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pending.flush()
    assert registry.get_sample_value("answers_total", {"outcome": "code_issued"}) == 8000
    assert registry.get_sample_value("answers_total", {"outcome": "code_resent"}) == 8000
