"""Promises of the documentation that had no test of their own (docs/testing.md, "Running the
tests", maps every promise to its test)."""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import func, select, update

from app import create_app
from selfserve.models import InboundMessage, OutboundMessage, utcnow
from selfserve.ops import Settings
from tests.conftest import (
    TEST_REDIS_URL,
    WITH_REDIS,
    import_campaigns_text,
    new_message_sid,
    reply_text,
    send_text,
)
from tests.console_support import create_console_user, log_in

CUSTOMER = "+61491570156"


class TestSettings:
    def test_a_dot_env_file_is_read_and_real_variables_win(self, tmp_path, monkeypatch):
        (tmp_path / ".env").write_text(
            "PROGRAM_NAME=Acme from dotenv\nDEFAULT_REGION=NZ\n"
            f"INSTANCE_PATH={tmp_path / 'instance'}\n"
        )
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("PROGRAM_NAME", raising=False)
        monkeypatch.delenv("INSTANCE_PATH", raising=False)
        monkeypatch.setenv("DEFAULT_REGION", "GB")
        settings = Settings.from_environment()
        assert settings.program_name == "Acme from dotenv"
        assert settings.default_region == "GB"
        assert settings.instance_path == str(tmp_path / "instance")

    def test_secrets_are_generated_on_first_run_and_kept(self, tmp_path):
        environment = {"INSTANCE_PATH": str(tmp_path / "instance")}
        first = Settings.from_environment(environment)
        again = Settings.from_environment(environment)
        assert len(first.secret_key) >= 32
        assert len(first.identity_secret) >= 32
        assert first.secret_key != first.identity_secret
        assert (again.secret_key, again.identity_secret) == (
            first.secret_key,
            first.identity_secret,
        )
        for name in ("secret_key", "identity_secret"):
            mode = stat.S_IMODE(os.stat(tmp_path / "instance" / name).st_mode)
            assert mode == 0o600, f"{name} is readable by others: {oct(mode)}"
        other = Settings.from_environment({"INSTANCE_PATH": str(tmp_path / "other")})
        assert other.secret_key != first.secret_key  # generated, not a built-in default
        assert first.secret_key not in repr(first)


class TestMessagingServiceSid:
    def test_a_messaging_service_sends_messaging_service_sid_instead_of_from(
        self, settings, twilio_stand_in
    ):
        service_sid = "MG" + "5" * 32
        application = create_app(
            replace(settings, twilio_from_number="", twilio_messaging_service_sid=service_sid)
        )
        try:
            application.extensions["selfserve"].outbox.send(
                dedupe_key="service:1", to_e164=CUSTOMER, body="hi", purpose="test", now=True
            )
        finally:
            application.extensions["selfserve"].close()
        [form] = twilio_stand_in.requests
        assert form["MessagingServiceSid"] == service_sid
        assert "From" not in form
        assert twilio_stand_in.messages_to(CUSTOMER)[0].sender == service_sid


class TestLogJson:
    def test_log_json_writes_one_json_object_a_line_without_the_number(self, settings, capsys):
        application = create_app(replace(settings, log_json=True))
        try:
            import_campaigns_text(application, "")
            capsys.readouterr()
            send_text(application.test_client(), "HELP", sender=CUSTOMER)
            lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        finally:
            application.extensions["selfserve"].close()
            create_app(settings).extensions["selfserve"].close()  # readable lines again
        assert lines
        events = [json.loads(line) for line in lines]  # every line is one JSON object
        assert any(event.get("event") == "text_answered" for event in events), events
        assert not any("491570156" in line for line in lines)


class TestConsoleSessions:
    def test_a_console_session_lasts_twelve_hours(self, app, client):
        create_console_user(app)
        response = log_in(client)
        assert response.status_code == 302
        cookie = next(
            header
            for header in response.headers.getlist("Set-Cookie")
            if header.startswith("session=")
        )
        expires = next(
            part.split("=", 1)[1] for part in cookie.split("; ") if part.startswith("Expires=")
        )
        lifetime = parsedate_to_datetime(expires) - datetime.now(UTC)
        assert timedelta(hours=11, minutes=58) < lifetime <= timedelta(hours=12)

    def test_users_list_prints_every_console_user(self, app, runner):
        create_console_user(app, "b.marketer@acme.example")
        create_console_user(app, "a.marketer@acme.example")
        result = runner.invoke(args=["users", "list"])
        assert result.exit_code == 0
        assert result.output.splitlines() == [
            "a.marketer@acme.example  owner",
            "b.marketer@acme.example  owner",
        ]


class TestOutboxBackoff:
    def test_a_transient_failure_waits_the_base_delay_with_jitter(self, settings, twilio_stand_in):
        """TALON_RETRY_BASE_SECONDS (10 s here) ±20 %: every wait in range, and spread out
        (six waits within 0.3 s of each other would be a fixed delay plus network noise)."""
        application = create_app(
            replace(settings, talon_retry_base_seconds=10.0, talon_retry_max_seconds=30.0)
        )
        services = application.extensions["selfserve"]
        waits = []
        try:
            for number in range(6):
                twilio_stand_in.fail_next(503)
                before = utcnow()
                recorded = services.outbox.send(
                    dedupe_key=f"jitter:{number}",
                    to_e164=CUSTOMER,
                    body="hi",
                    purpose="t",
                    now=True,
                )
                with services.sessions() as db:
                    row = db.get(OutboundMessage, recorded.outbound_id)
                assert row.status == "waiting"
                at = row.next_attempt_at.replace(tzinfo=row.next_attempt_at.tzinfo or UTC)
                waits.append((at - before).total_seconds())
        finally:
            services.close()
        assert all(8.0 - 0.05 <= wait <= 12.0 + 0.5 for wait in waits), waits
        assert max(waits) - min(waits) > 0.3, waits

    def test_a_lost_send_is_logged_as_uncertain_with_a_masked_number(self, app, caplog):
        services = app.extensions["selfserve"]
        with services.writes.begin() as db:
            recorded = services.outbox.record(
                db, dedupe_key="k", to_e164=CUSTOMER, body="hi", purpose="test"
            )
            db.execute(  # a worker killed while Twilio was answering leaves this behind
                update(OutboundMessage)
                .where(OutboundMessage.id == recorded.outbound_id)
                .values(status="claimed", attempts=1, lease_until=utcnow() - timedelta(seconds=1))
            )
        with caplog.at_level(logging.INFO):
            services.outbox.overdue()
        [record] = [r for r in caplog.records if r.getMessage() == "sms_delivery_uncertain"]
        assert record.levelno == logging.ERROR
        assert record.outbound_id == recorded.outbound_id
        assert "491570156" not in caplog.text
        assert record.to.endswith("56")
        assert "•" in record.to


@pytest.mark.parametrize("body", ["HELP", "POINTS", "HELLO", "STOP"])
def test_a_duplicate_of_a_non_coupon_text_gets_the_same_answer_once(
    app, client, settings, talon_stand_in, body
):
    from selfserve.customers import pseudonym

    talon_stand_in.add_profile(pseudonym(CUSTOMER, settings.identity_secret), 7, balance=3)
    sid = new_message_sid()
    first = reply_text(send_text(client, body, sender=CUSTOMER, message_sid=sid))
    second = reply_text(send_text(client, body, sender=CUSTOMER, message_sid=sid))
    assert first == second
    assert (first is None) == (body == "STOP")
    assert len([r for r in talon_stand_in.requests if r.path.endswith("/loyalty")]) == (
        1 if body == "POINTS" else 0
    )
    services = app.extensions["selfserve"]
    services.returning.flush()
    with services.sessions() as db:
        rows = db.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.message_sid == sid)
        )
    assert rows == 1


if WITH_REDIS:  # Redis variants: when TEST_REDIS_URL is set, and always on CI (conftest)

    @pytest.mark.needs_redis
    def test_the_log_in_throttle_is_shared_through_redis(settings):
        """Failures on one app count on another, and the counters live in Redis (two apps in
        one process also share the limiter object, so the keys in Redis are the proof)."""
        import redis

        with redis.Redis.from_url(TEST_REDIS_URL) as connection:
            connection.flushdb()
        shared = replace(settings, redis_url=TEST_REDIS_URL)
        first, second = create_app(shared), create_app(shared)
        try:
            create_console_user(first)
            for _ in range(5):
                assert log_in(first.test_client(), password="wrong-password").status_code == 401
            assert log_in(second.test_client()).status_code == 429
            with redis.Redis.from_url(TEST_REDIS_URL) as connection:  # kept there, not in memory
                keys = [key.decode() for key in connection.keys("*")]
            assert any("login-email" in key for key in keys), keys
        finally:
            first.extensions["selfserve"].close()
            second.extensions["selfserve"].close()
