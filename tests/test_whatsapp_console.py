"""WhatsApp in the phone simulator and the console: the SMS / WhatsApp switch, each message's
channel in the log, per-channel counts and WhatsApp failures by Twilio error code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from app import create_app
from selfserve.console import channel_counts, whatsapp_failures
from selfserve.models import InboundMessage, OutboundMessage
from tests.conftest import SPRING_CAMPAIGNS, import_campaigns_text, send_text
from tests.console_support import create_console_user, csrf_token, log_in

NUMBER = "+61491570159"


@pytest.fixture
def phone(sandbox_settings):
    application = create_app(sandbox_settings)
    application.config["TESTING"] = True
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    yield application, application.test_client()
    application.extensions["selfserve"].close()


@pytest.fixture
def console(app, client):
    create_console_user(app)
    assert log_in(client).status_code == 302
    return client


def add_outbound(app, **values) -> None:
    row = {
        "to_e164": NUMBER,
        "body": "Your code",
        "purpose": "deferred_code",
        "provider": "twilio",
        "status": "failed",
        "created_at": datetime.now(UTC),
        "channel": "whatsapp",
        **values,
    }
    with app.extensions["selfserve"].sessions.begin() as db:
        db.execute(insert(OutboundMessage).values(**row))


class TestSimulatorSwitch:
    def test_whatsapp_texts_reach_the_webhook_as_whatsapp(self, phone):
        application, client = phone
        token = csrf_token(client, "/dev/phone?channel=whatsapp")
        form = {"number": NUMBER, "body": "SPRING", "channel": "whatsapp", "csrf_token": token}
        assert client.post("/dev/phone", data=form).status_code == 302
        with application.extensions["selfserve"].sessions() as db:
            (message,) = db.scalars(select(InboundMessage)).all()
        assert (message.channel, message.outcome) == ("whatsapp", "code_issued")
        thread = client.get(f"/dev/phone/thread?number={NUMBER}").get_data(as_text=True)
        assert "· WhatsApp" in thread

    def test_the_switch_is_remembered_and_shown(self, phone):
        _, client = phone
        page = client.get("/dev/phone?channel=whatsapp").get_data(as_text=True)
        assert 'value="whatsapp" checked' in page
        assert 'name="channel" value="whatsapp"' in page
        assert 'value="whatsapp" checked' in client.get("/dev/phone").get_data(as_text=True)

    def test_sms_stays_the_default(self, phone):
        application, client = phone
        token = csrf_token(client, "/dev/phone")
        client.post("/dev/phone", data={"number": NUMBER, "body": "SPRING", "csrf_token": token})
        with application.extensions["selfserve"].sessions() as db:
            assert db.scalar(select(InboundMessage.channel)) == "sms"


class TestConsole:
    def test_the_message_log_shows_each_messages_channel(self, app, console):
        send_text(console, "SPRING", "whatsapp:" + NUMBER)
        page = console.get("/admin/messages").get_data(as_text=True)
        assert '<span class="badge whatsapp">WhatsApp</span>' in page

    def test_stats_count_per_channel(self, app, console):
        send_text(console, "SPRING", "whatsapp:" + NUMBER)
        send_text(console, "HELLO", "whatsapp:+61491570158")
        send_text(console, "SPRING", "+61491570157")
        with app.extensions["selfserve"].sessions() as db:
            counts = {c.channel: (c.texts, c.codes) for c in channel_counts(db, datetime.now(UTC))}
        assert counts == {"whatsapp": (2, 1), "sms": (1, 1)}
        assert "SMS and WhatsApp" in console.get("/admin/stats").get_data(as_text=True)

    def test_whatsapp_failures_are_counted_by_error_code(self, app, console):
        add_outbound(app, error_code=63016)
        add_outbound(app, error_code=63016, channel="sms", status="delivered")  # sent by SMS
        add_outbound(app, error_code=21656)
        add_outbound(app, error_code=30003, channel="sms")  # an SMS failure: not WhatsApp's
        with app.extensions["selfserve"].sessions() as db:
            failures = [(f.error_code, f.count) for f in whatsapp_failures(db, datetime.now(UTC))]
        assert failures == [(63016, 2), (21656, 1)]
        page = console.get("/admin/stats").get_data(as_text=True)
        assert "WhatsApp delivery failures by error code" in page
        assert "ContentVariables do not fit the template" in page
