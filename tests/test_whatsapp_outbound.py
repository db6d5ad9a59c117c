"""WhatsApp texts we send ourselves: the 24-hour window, Content templates, the way to SMS,
and Twilio's WhatsApp error codes, against the Twilio stand-in speaking WhatsApp."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import create_app
from selfserve.customers import is_whatsapp_opted_out
from selfserve.models import OutboundMessage, WhatsAppContact, utcnow
from selfserve.queue import WorkerThreads
from tests.conftest import (
    ACCOUNT_SID,
    OUR_NUMBER,
    SPRING_CAMPAIGNS,
    import_campaigns_text,
    post_signed,
    reply_text,
    send_text,
    wait_for,
)

WHATSAPP_FROM = "+61480000099"
NUMBER = "+61491570156"
US_NUMBER = "+12025550123"
SCOPED_ID = "US.13491208655302741918"
SID = "HX" + "ab" * 16
TEMPLATE = f"""whatsapp_template = "{SID}"
whatsapp_variables = {{"1" = "{{first_name}}", "2" = "{{code}}"}}
reply = "Your Spring code"""
DEFERRED = "You're in! We'll text your code in a few minutes."


@pytest.fixture
def wa_app(settings):
    application = create_app(replace(settings, twilio_whatsapp_from=WHATSAPP_FROM))
    application.config["TESTING"] = True
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    yield application
    application.extensions["selfserve"].close()


@pytest.fixture
def wa_worker(wa_app):
    services = wa_app.extensions["selfserve"]
    running = WorkerThreads(services.jobs, threads=2, lease_seconds=3.0).start()
    yield running
    running.stop()


@pytest.fixture
def with_template(wa_app, twilio_stand_in):
    import_campaigns_text(wa_app, SPRING_CAMPAIGNS.replace('reply = "Your Spring code', TEMPLATE))
    twilio_stand_in.whatsapp.approve(SID, ("1", "2"))
    return wa_app


def outbound(app) -> list[OutboundMessage]:
    with app.extensions["selfserve"].sessions() as db:
        return db.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()


def owe_a_code(app, talon_stand_in, sender: str = "whatsapp:" + NUMBER) -> None:
    """Text SPRING while Talon.One is down, then let the worker (no queue) deliver it."""
    talon_stand_in.down = True
    assert reply_text(send_text(app.test_client(), "SPRING", sender)) == DEFERRED
    talon_stand_in.down = False
    services = app.extensions["selfserve"]
    for deferred_id, attempt in services.deferred_codes.overdue() or [(1, 0)]:
        services.deferred_codes.deliver(deferred_id, attempt)
    # With a worker running, the worker may have taken the job: wait for its outcome.
    wait_for(lambda: outbound(app) and outbound(app)[0].status != "claimed", what="the send")


def close_our_window(app, person: str = NUMBER) -> None:
    with app.extensions["selfserve"].sessions.begin() as db:
        db.execute(
            update(WhatsAppContact)
            .where(WhatsAppContact.person == person)
            .values(last_inbound_at=utcnow() - timedelta(hours=25))
        )


class TestOwedCodes:
    def test_window_open_goes_free_form_from_the_whatsapp_sender(
        self, wa_app, talon_stand_in, twilio_stand_in
    ):
        owe_a_code(wa_app, talon_stand_in)
        [message] = twilio_stand_in.messages
        assert (message.to, message.sender) == ("whatsapp:" + NUMBER, "whatsapp:" + WHATSAPP_FROM)
        assert message.body.startswith("Your Spring code: T1-")
        assert message.content_sid == ""
        assert outbound(wa_app)[0].channel == "whatsapp"

    def test_twilio_closed_window_resends_as_the_template_without_body(
        self, with_template, talon_stand_in, twilio_stand_in
    ):
        twilio_stand_in.whatsapp.close_window(NUMBER)
        owe_a_code(with_template, talon_stand_in)
        [message] = twilio_stand_in.messages
        assert message.content_sid == SID
        assert not message.has_body
        assert message.content_variables["1"] == "there"
        assert message.content_variables["2"].startswith("T1-")
        assert [r["To"] for r in twilio_stand_in.requests] == ["whatsapp:" + NUMBER] * 2

    def test_our_closed_window_goes_straight_to_the_template(
        self, with_template, talon_stand_in, twilio_stand_in
    ):
        talon_stand_in.down = True
        send_text(with_template.test_client(), "SPRING", "whatsapp:" + NUMBER)
        close_our_window(with_template)
        talon_stand_in.down = False
        with_template.extensions["selfserve"].deferred_codes.deliver(1, 0)
        assert len(twilio_stand_in.requests) == 1
        assert twilio_stand_in.messages[0].content_sid == SID

    def test_no_template_and_a_closed_window_goes_by_sms(
        self, wa_app, talon_stand_in, twilio_stand_in
    ):
        twilio_stand_in.whatsapp.close_window(NUMBER)
        owe_a_code(wa_app, talon_stand_in)
        [message] = twilio_stand_in.messages
        assert (message.to, message.sender) == (NUMBER, OUR_NUMBER)
        assert message.body.startswith("Your Spring code: T1-")
        assert outbound(wa_app)[0].channel == "sms"

    def test_a_us_marketing_block_sends_the_asked_for_code_by_sms(
        self, with_template, talon_stand_in, twilio_stand_in
    ):
        twilio_stand_in.whatsapp.approve(SID, ("1", "2"), marketing=True)
        twilio_stand_in.whatsapp.close_window(US_NUMBER)
        owe_a_code(with_template, talon_stand_in, "whatsapp:" + US_NUMBER)
        [message] = twilio_stand_in.messages
        assert message.to == US_NUMBER

    def test_a_scoped_id_is_never_texted_by_sms(self, wa_app, talon_stand_in, twilio_stand_in):
        twilio_stand_in.whatsapp.close_window(SCOPED_ID)
        owe_a_code(wa_app, talon_stand_in, "whatsapp:" + SCOPED_ID)
        assert twilio_stand_in.messages == []
        [row] = outbound(wa_app)
        assert (row.status, row.error_code) == ("failed", 63016)

    def test_a_scoped_id_with_an_open_window_gets_it_on_whatsapp(
        self, wa_app, talon_stand_in, twilio_stand_in
    ):
        owe_a_code(wa_app, talon_stand_in, "whatsapp:" + SCOPED_ID)
        assert twilio_stand_in.messages[0].to == "whatsapp:" + SCOPED_ID


class TestStatusCallbacks:
    def status(self, app, sid: str, code: int) -> None:
        form = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": str(code)}
        form["AccountSid"] = ACCOUNT_SID
        assert post_signed(app.test_client(), form, "/webhooks/twilio/status").status_code == 200

    def test_a_later_63016_sends_the_template(
        self, with_template, talon_stand_in, twilio_stand_in, wa_worker
    ):
        owe_a_code(with_template, talon_stand_in)
        wait_for(lambda: twilio_stand_in.messages, what="the free-form message")
        self.status(with_template, twilio_stand_in.messages[0].sid, 63016)
        wait_for(lambda: len(twilio_stand_in.messages) == 2, what="the template")
        assert twilio_stand_in.messages[1].content_sid == SID

    def test_a_later_63016_without_template_goes_by_sms(
        self, wa_app, talon_stand_in, twilio_stand_in, wa_worker
    ):
        owe_a_code(wa_app, talon_stand_in)
        wait_for(lambda: twilio_stand_in.messages, what="the free-form message")
        self.status(wa_app, twilio_stand_in.messages[0].sid, 63016)
        wait_for(lambda: len(twilio_stand_in.messages) == 2, what="the SMS")
        assert twilio_stand_in.messages[1].to == NUMBER

    def test_63014_stops_whatsapp_to_the_person(self, wa_app, talon_stand_in, twilio_stand_in):
        owe_a_code(wa_app, talon_stand_in)
        self.status(wa_app, twilio_stand_in.messages[0].sid, 63014)
        with wa_app.extensions["selfserve"].sessions() as db:
            assert is_whatsapp_opted_out(db, NUMBER)
        assert len(twilio_stand_in.messages) == 1


class TestErrorCodes:
    def test_63018_is_retried(self, wa_app, talon_stand_in, twilio_stand_in):
        twilio_stand_in.fail_next(400, 63018)
        owe_a_code(wa_app, talon_stand_in)
        [row] = outbound(wa_app)
        assert (row.status, row.error_code) == ("waiting", 63018)

    def test_63014_at_create_suppresses_the_person(self, wa_app, talon_stand_in, twilio_stand_in):
        twilio_stand_in.fail_next(400, 63014)
        owe_a_code(wa_app, talon_stand_in)
        with wa_app.extensions["selfserve"].sessions() as db:
            assert is_whatsapp_opted_out(db, NUMBER)
        assert outbound(wa_app)[0].status == "failed"

    @pytest.mark.parametrize("code", [21656, 63028])
    def test_template_mismatches_are_configuration_errors(
        self, with_template, talon_stand_in, twilio_stand_in, code
    ):
        twilio_stand_in.whatsapp.close_window(NUMBER)
        twilio_stand_in.fail_next(400, 63016)  # the free-form, then the template fails
        twilio_stand_in.fail_next(400, code)
        owe_a_code(with_template, talon_stand_in)
        [row] = outbound(with_template)
        assert (row.status, row.error_code) == ("failed", code)

    def test_marketing_is_dropped_not_texted(self, wa_app, twilio_stand_in):
        with wa_app.extensions["selfserve"].sessions.begin() as db:
            db.add(WhatsAppContact(person=NUMBER, address=NUMBER, changed_at=utcnow()))
        wa_app.extensions["selfserve"].outbox.send(
            dedupe_key="birthday:1",
            to_e164=NUMBER,
            body="Happy birthday",
            purpose="birthday",
            now=True,
            channel="whatsapp",
        )
        assert twilio_stand_in.messages == []
        assert outbound(wa_app)[0].detail.startswith("dropped")


def test_whatsapp_number_is_the_sender_when_no_sender_is_named(
    settings, talon_stand_in, twilio_stand_in
):
    application = create_app(replace(settings, whatsapp_number="+61480000077"))
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    owe_a_code(application, talon_stand_in)
    application.extensions["selfserve"].close()
    assert twilio_stand_in.messages[0].sender == "whatsapp:+61480000077"
