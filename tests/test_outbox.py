"""The outbox: every text we send is recorded first and goes out at most once per key."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from selfserve.customers import ConsentState, current_consent, record_consent
from selfserve.models import OptOut, OutboundMessage, utcnow
from selfserve.sms import Outbox, TwilioSender
from tests.conftest import (
    ACCOUNT_SID,
    OUR_NUMBER,
    PUBLIC_BASE_URL,
    WEBHOOK_TOKEN,
    post_signed,
    wait_for,
)
from tests.stand_ins.server import DroppingServer, free_port

CUSTOMER = "+61491570156"


def outbound(app) -> list[OutboundMessage]:
    with app.extensions["selfserve"].sessions() as db:
        return db.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()


def send(app, key: str = "welcome:1", to: str = CUSTOMER, now: bool = False):
    return app.extensions["selfserve"].outbox.send(
        dedupe_key=key, to_e164=to, body="Welcome to Acme Rewards", purpose="welcome", now=now
    )


class TestAtMostOnce:
    def test_a_text_is_sent_once_and_recorded_with_twilios_sid(self, app, twilio_stand_in):
        recorded = send(app, now=True)
        assert recorded.fresh
        [message] = twilio_stand_in.messages
        assert (message.to, message.body, message.sender) == (
            CUSTOMER,
            "Welcome to Acme Rewards",
            OUR_NUMBER,
        )
        assert message.status_callback == PUBLIC_BASE_URL + "/webhooks/twilio/status"
        [row] = outbound(app)
        assert (row.message_sid, row.status, row.dedupe_key) == (
            message.sid,
            "queued",
            "welcome:1",
        )

    def test_the_same_dedupe_key_twice_sends_once(self, app, twilio_stand_in, worker):
        first = send(app)
        second = send(app)
        assert (first.fresh, second.fresh) == (True, False)
        assert first.outbound_id == second.outbound_id
        wait_for(lambda: twilio_stand_in.messages, what="the text")
        time.sleep(0.3)
        assert len(twilio_stand_in.messages) == 1

    def test_a_duplicate_job_for_the_same_row_sends_nothing_more(self, app, twilio_stand_in):
        recorded = send(app, now=True)
        outbox = app.extensions["selfserve"].outbox
        assert outbox.deliver(recorded.outbound_id, 0) is None  # the same job, run again
        assert len(twilio_stand_in.messages) == 1

    def test_nothing_is_sent_to_an_opted_out_number(self, app, client, twilio_stand_in):
        post_signed(client, {**_stop_form(), "From": CUSTOMER})
        send(app, now=True)
        assert twilio_stand_in.messages == []
        assert outbound(app)[0].status == "skipped"

    def test_21610_records_the_opt_out_and_is_never_retried(self, app, twilio_stand_in, worker):
        send(app, to="+15005550004")
        wait_for(lambda: outbound(app)[0].status == "failed", what="the 21610 failure")
        time.sleep(0.5)
        assert len(twilio_stand_in.requests) == 1
        assert outbound(app)[0].error_code == 21610
        with app.extensions["selfserve"].sessions() as db:
            assert db.get(OptOut, "+15005550004").opted_out is True

    @pytest.mark.parametrize(("status", "code"), [(503, None), (429, 20429)])
    def test_transient_twilio_errors_are_retried_until_sent_once(
        self, app, twilio_stand_in, worker, status, code
    ):
        twilio_stand_in.fail_next(status, code)
        twilio_stand_in.fail_next(status, code)
        send(app)
        wait_for(lambda: twilio_stand_in.messages, what="the text after two failures")
        time.sleep(0.3)
        assert len(twilio_stand_in.messages) == 1
        assert len(twilio_stand_in.requests) == 3
        assert outbound(app)[0].failures == 2

    def test_permanent_twilio_errors_fail_without_a_retry(self, app, twilio_stand_in, worker):
        send(app, to="+15005550001")  # 21211: not a valid number
        wait_for(lambda: outbound(app)[0].status == "failed", what="the failure")
        time.sleep(0.3)
        assert len(twilio_stand_in.requests) == 1
        assert outbound(app)[0].error_code == 21211


class TestUncertainty:
    def test_twilio_refusing_connections_is_retried(self, app):
        services = app.extensions["selfserve"]
        sender = TwilioSender(
            ACCOUNT_SID,
            WEBHOOK_TOKEN,
            f"http://127.0.0.1:{free_port()}",
            OUR_NUMBER,
            "",
            status_callback_url=PUBLIC_BASE_URL + "/webhooks/twilio/status",
            timeout_seconds=0.5,
        )
        outbox = Outbox(services.writes, sender)
        with services.writes.begin() as db:
            recorded = outbox.record(
                db, dedupe_key="k", to_e164=CUSTOMER, body="hi", purpose="test"
            )
        retry = outbox.deliver(recorded.outbound_id, 0)
        assert retry is not None
        assert outbound(app)[0].status == "waiting"

    def test_a_lost_answer_is_never_resent(self, app):
        """Twilio may have the message when its answer is lost: at most once wins."""
        services = app.extensions["selfserve"]
        dropping = DroppingServer()
        sender = TwilioSender(
            ACCOUNT_SID,
            WEBHOOK_TOKEN,
            dropping.url,
            OUR_NUMBER,
            "",
            status_callback_url=PUBLIC_BASE_URL + "/webhooks/twilio/status",
            timeout_seconds=0.5,
        )
        outbox = Outbox(services.writes, sender)
        with services.writes.begin() as db:
            recorded = outbox.record(
                db, dedupe_key="k", to_e164=CUSTOMER, body="hi", purpose="test"
            )
        assert outbox.deliver(recorded.outbound_id, 0) is None
        dropping.stop()
        assert outbound(app)[0].status == "uncertain"
        assert dropping.connections == 1
        assert outbox.overdue() == []

    def test_a_worker_dying_mid_send_leaves_the_text_uncertain_not_resent(
        self, app, twilio_stand_in
    ):
        services = app.extensions["selfserve"]
        with services.writes.begin() as db:
            recorded = services.outbox.record(
                db, dedupe_key="k", to_e164=CUSTOMER, body="hi", purpose="test"
            )
            db.execute(  # what a worker killed while Twilio was answering leaves behind
                update(OutboundMessage)
                .where(OutboundMessage.id == recorded.outbound_id)
                .values(status="claimed", attempts=1, lease_until=utcnow() - timedelta(seconds=1))
            )
        assert services.outbox.overdue() == []
        assert outbound(app)[0].status == "uncertain"
        assert twilio_stand_in.messages == []

    def test_a_recorded_text_whose_job_was_lost_is_swept_and_sent(
        self, app, twilio_stand_in, worker
    ):
        services = app.extensions["selfserve"]
        with services.writes.begin() as db:  # recorded, then the process died before dispatch
            services.outbox.record(db, dedupe_key="k", to_e164=CUSTOMER, body="hi", purpose="test")
            db.execute(
                update(OutboundMessage).values(next_attempt_at=utcnow() - timedelta(minutes=5))
            )
        wait_for(lambda: twilio_stand_in.messages, what="the sweeper to send it")
        time.sleep(1.5)  # another sweep or two must not send it again
        assert len(twilio_stand_in.messages) == 1


class TestStatusCallbacks:
    def test_a_signed_callback_is_recorded_and_terminal_statuses_stick(
        self, app, client, twilio_stand_in
    ):
        send(app, now=True)
        sid = twilio_stand_in.messages[0].sid
        for status in ("sent", "delivered", "sent"):
            response = post_signed(client, _status_form(sid, status), "/webhooks/twilio/status")
            assert response.status_code == 200
        assert outbound(app)[0].status == "delivered"

    def test_an_unsigned_callback_is_refused_and_changes_nothing(
        self, app, client, twilio_stand_in
    ):
        send(app, now=True)
        sid = twilio_stand_in.messages[0].sid
        response = client.post("/webhooks/twilio/status", data=_status_form(sid, "failed"))
        assert response.status_code == 403
        assert outbound(app)[0].status == "queued"

    def test_a_21610_callback_records_the_opt_out(self, app, client, twilio_stand_in):
        send(app, now=True)
        sid = twilio_stand_in.messages[0].sid
        form = {**_status_form(sid, "failed"), "ErrorCode": "21610"}
        assert post_signed(client, form, "/webhooks/twilio/status").status_code == 200
        with app.extensions["selfserve"].sessions() as db:
            assert db.get(OptOut, CUSTOMER).opted_out is True

    def test_a_21610_callback_ends_marketing_consent_in_the_trail(
        self, app, client, twilio_stand_in
    ):
        with app.extensions["selfserve"].sessions.begin() as db:
            record_consent(db, CUSTOMER, ConsentState.CONSENTED, "web", "Send me offers by SMS")
        send(app, now=True)
        sid = twilio_stand_in.messages[0].sid
        form = {**_status_form(sid, "failed"), "ErrorCode": "21610"}
        assert post_signed(client, form, "/webhooks/twilio/status").status_code == 200
        with app.extensions["selfserve"].sessions() as db:
            newest = current_consent(db, CUSTOMER)
        assert newest is not None
        assert (newest.state, newest.method) == (ConsentState.REVOKED, "opt-out")
        assert "21610" in newest.wording


def _status_form(sid: str, status: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": ACCOUNT_SID,
        "From": OUR_NUMBER,
        "To": CUSTOMER,
        "ApiVersion": "2010-04-01",
    }


def _stop_form() -> dict[str, str]:
    from tests.conftest import inbound_form

    return inbound_form("STOP")
