"""Codes Talon.One could not give in time: a fast "you're in" reply, then exactly one SMS."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select

from selfserve.models import DeferredCode, InboundMessage, IssuedCoupon, OptOut
from selfserve.queue import WorkerThreads
from tests.conftest import (
    SPRING_CAMPAIGNS,
    import_campaigns_text,
    reply_text,
    send_text,
    wait_for,
)

DEFERRED_REPLY = "You're in! We'll text your code in a few minutes."
CUSTOMER = "+61491570156"


def rows(app, model):
    with app.extensions["selfserve"].sessions() as db:
        order = model.id if hasattr(model, "id") else None
        return db.scalars(select(model).order_by(order)).all()


def outcomes(app) -> list[str]:
    return [message.outcome for message in rows(app, InboundMessage)]


def codes_in(text: str | None) -> list[str]:
    return [word.strip("().,") for word in (text or "").split() if word.startswith("T1-")]


class TestTheWebhookDefers:
    def test_talon_down_gets_the_campaigns_deferred_reply_and_owes_the_code(
        self, app, client, talon_stand_in, twilio_stand_in
    ):
        talon_stand_in.down = True
        response = send_text(client, "SPRING", sender=CUSTOMER)
        assert response.status_code == 200
        assert reply_text(response) == DEFERRED_REPLY
        owed = rows(app, DeferredCode)
        assert [(row.campaign_slug, row.phone_e164, row.state) for row in owed] == [
            ("spring", CUSTOMER, "pending")
        ]
        assert outcomes(app) == ["deferred"]
        assert twilio_stand_in.messages == []  # nothing is sent until a worker runs

    def test_a_campaign_can_word_its_own_deferred_reply(self, app, client, talon_stand_in):
        import_campaigns_text(
            app,
            SPRING_CAMPAIGNS.replace(
                'reply = "Your Spring code',
                'deferred_reply = "Hang on {keyword}, code coming"\nreply = "Your Spring code',
            ),
        )
        talon_stand_in.down = True
        assert reply_text(send_text(client, "bloom")) == "Hang on BLOOM, code coming"

    def test_a_slow_talon_is_given_the_inline_timeout_only(self, app, client, talon_stand_in):
        settings = app.extensions["selfserve"].settings
        talon_stand_in.delay_seconds = settings.talon_inline_timeout_seconds + 1.0
        started = time.monotonic()
        reply = reply_text(send_text(client, "SPRING"))
        elapsed = time.monotonic() - started
        assert reply == DEFERRED_REPLY
        assert elapsed < settings.talon_inline_timeout_seconds + 0.9

    def test_after_a_failure_the_webhook_stops_asking_for_a_moment(
        self, app, client, talon_stand_in
    ):
        assert app.extensions["selfserve"].settings.talon_inline_pause_seconds >= 1
        talon_stand_in.down = True
        for number in ("+61491570001", "+61491570002", "+61491570003"):
            assert reply_text(send_text(client, "SPRING", sender=number)) == DEFERRED_REPLY
        assert len(talon_stand_in.coupon_requests()) == 1
        assert len(rows(app, DeferredCode)) == 3

    def test_a_spent_budget_defers_without_calling_talon(self, app, client, talon_stand_in):
        budget = app.extensions["selfserve"].budget
        while budget.try_spend():
            pass
        assert reply_text(send_text(client, "SPRING")) == DEFERRED_REPLY
        assert talon_stand_in.coupon_requests() == []

    def test_texting_again_during_the_outage_owes_one_code(self, app, client, talon_stand_in):
        talon_stand_in.down = True
        send_text(client, "SPRING", sender=CUSTOMER)
        send_text(client, "BLOOM", sender=CUSTOMER)
        assert len(rows(app, DeferredCode)) == 1
        assert outcomes(app) == ["deferred", "deferred"]

    def test_loyalty_is_not_deferred_and_gets_the_polite_text(self, app, client, talon_stand_in):
        talon_stand_in.down = True
        assert "can't do that right now" in reply_text(send_text(client, "POINTS"))
        assert rows(app, DeferredCode) == []


class TestTheWorkerDelivers:
    def test_talon_503_for_a_while_then_recovering_sends_exactly_one_sms_each(
        self, app, client, talon_stand_in, twilio_stand_in, worker
    ):
        talon_stand_in.down = True
        customers = [f"+6149157{n:04d}" for n in range(5)]
        for number in customers:
            assert reply_text(send_text(client, "SPRING", sender=number)) == DEFERRED_REPLY
        wait_for(lambda: len(talon_stand_in.coupon_requests()) >= 10, what="the worker retrying")
        assert twilio_stand_in.messages == []
        talon_stand_in.down = False
        wait_for(lambda: len(twilio_stand_in.messages) == 5, what="one SMS per customer")
        time.sleep(0.5)  # a second SMS, if any were coming, would follow the first at once
        for number in customers:
            sent = twilio_stand_in.messages_to(number)
            assert len(sent) == 1
            assert sent[0].body.startswith("Your Spring code: T1-")
        issued = {row.code for row in rows(app, IssuedCoupon)}
        assert {codes_in(m.body)[0] for m in twilio_stand_in.messages} == issued
        assert len(talon_stand_in.coupons) == 5  # one coupon per customer at Talon.One
        assert set(outcomes(app)) == {"code_sent_by_sms"}
        assert {row.state for row in rows(app, DeferredCode)} == {"sms_queued"}

    def test_a_429_retry_after_is_honoured_before_asking_again(
        self, app, client, talon_stand_in, twilio_stand_in, worker
    ):
        talon_stand_in.answer_next(
            429,
            {"StatusCode": 429, "Error": "Too many requests", "RequestUUID": "u"},
            headers={"Retry-After": "2"},
        )
        assert reply_text(send_text(client, "SPRING", sender=CUSTOMER)) == DEFERRED_REPLY
        told_at = time.monotonic()
        wait_for(lambda: twilio_stand_in.messages_to(CUSTOMER), what="the code by SMS")
        assert len(talon_stand_in.coupon_requests()) == 2
        assert time.monotonic() - told_at >= 1.9

    def test_configuration_errors_stop_and_show_as_failed(
        self, app, client, talon_stand_in, twilio_stand_in, caplog, worker
    ):
        talon_stand_in.answer_next(503, {"StatusCode": 503, "Error": "x", "RequestUUID": "u1"})
        talon_stand_in.answer_next(
            401, {"StatusCode": 401, "Error": "Invalid API key", "RequestUUID": "req-401-uuid"}
        )
        with caplog.at_level(logging.INFO):
            assert reply_text(send_text(client, "SPRING")) == DEFERRED_REPLY
            wait_for(lambda: rows(app, DeferredCode)[0].state == "failed", what="the failure")
        failed = rows(app, DeferredCode)[0]
        assert "req-401-uuid" in failed.detail
        assert outcomes(app) == ["failed"]
        loud = [r for r in caplog.records if r.getMessage() == "deferred_code_failed"]
        assert loud[0].levelno == logging.ERROR
        assert loud[0].request_uuid == "req-401-uuid"
        time.sleep(0.5)
        assert len(talon_stand_in.coupon_requests()) == 2  # not retried
        assert twilio_stand_in.messages == []

    def test_a_customer_who_got_the_code_inline_is_not_texted_it_again(
        self, app, client, talon_stand_in, twilio_stand_in
    ):
        talon_stand_in.down = True
        assert reply_text(send_text(client, "SPRING", sender=CUSTOMER)) == DEFERRED_REPLY
        resume_at = (
            time.monotonic() + app.extensions["selfserve"].settings.talon_inline_pause_seconds
        )
        talon_stand_in.down = False
        wait_for(lambda: time.monotonic() > resume_at, 5, "the webhook's pause to pass")
        inline = reply_text(send_text(client, "SPRING", sender=CUSTOMER))
        assert codes_in(inline)
        services = app.extensions["selfserve"]
        owed = rows(app, DeferredCode)[0]
        assert owed.state == "answered_inline"
        assert services.deferred_codes.deliver(owed.id, owed.attempts) is None
        assert twilio_stand_in.messages == []
        assert outcomes(app) == ["answered_inline", "code_issued"]

    def test_an_opt_out_before_delivery_means_no_sms(
        self, app, client, talon_stand_in, twilio_stand_in, worker
    ):
        talon_stand_in.down = True
        send_text(client, "SPRING", sender=CUSTOMER)
        send_text(client, "STOP", sender=CUSTOMER)
        talon_stand_in.down = False
        wait_for(lambda: rows(app, DeferredCode)[0].state == "opted_out", what="the opt-out")
        assert twilio_stand_in.messages == []
        assert rows(app, OptOut)[0].opted_out is True

    def test_twilio_21610_at_delivery_records_the_opt_out_and_is_not_retried(
        self, app, client, talon_stand_in, twilio_stand_in, worker
    ):
        talon_stand_in.down = True
        send_text(client, "SPRING", sender=CUSTOMER)
        twilio_stand_in.opted_out.add(CUSTOMER)
        talon_stand_in.down = False
        wait_for(lambda: rows(app, OptOut), what="the opt-out from 21610")
        time.sleep(0.5)
        assert len(twilio_stand_in.requests) == 1
        assert rows(app, OptOut)[0].reason == "twilio-21610"


def test_each_queue_backend_delivers_an_owed_code_once(queue_app, talon_stand_in, twilio_stand_in):
    services = queue_app.extensions["selfserve"]
    redis = bool(services.settings.redis_url)
    assert type(services.budget).__name__ == ("RedisBudget" if redis else "SqliteBudget")
    assert type(services.jobs.huey).__name__ == ("RedisHuey" if redis else "SqliteHuey")
    running = WorkerThreads(services.jobs, 2, services.settings.worker_lease_seconds).start()
    try:
        talon_stand_in.down = True
        client = queue_app.test_client()
        assert reply_text(send_text(client, "SPRING", sender=CUSTOMER)) == DEFERRED_REPLY
        talon_stand_in.down = False
        wait_for(lambda: twilio_stand_in.messages_to(CUSTOMER), what="the code by SMS")
        time.sleep(0.3)
        assert len(twilio_stand_in.messages) == 1
    finally:
        running.stop()
