"""Marketing on WhatsApp: a birthday goes to a customer who consented on WhatsApp by WhatsApp,
free-form within the window, as the campaign's template after it, and never by SMS."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app import create_app
from selfserve.customers import marketing_channel
from tests.conftest import import_campaigns_text, send_text

WHATSAPP_FROM = "+61480000099"
NUMBER = "+61491570101"
SID = "HX" + "cd" * 16
CAMPAIGNS = f"""
[[campaign]]
slug = "club"
name = "Acme Club"
keywords = ["JOIN"]
action = "subscribe"
reply = "Reply Y to get Acme offers. Reply STOP to cancel."

[[campaign]]
slug = "bday"
name = "Acme birthday treat"
action = "birthday"
application_id = 12
campaign_id = 99
reply = "Happy birthday {{first_name}}! Your gift code: {{code}}"
whatsapp_template = "{SID}"
whatsapp_variables = {{"1" = "{{first_name}}", "2" = "{{code}}"}}
"""
DIRECTORY = "phone,customer_id,first_name,birthday\n0491 570 101,C-LEA,Lea,1992-02-28\n"


@pytest.fixture
def wa_app(settings, tmp_path):
    application = create_app(
        replace(settings, twilio_whatsapp_from=WHATSAPP_FROM, quiet_hours="off")
    )
    import_campaigns_text(application, CAMPAIGNS)
    directory = tmp_path / "customers.csv"
    directory.write_text(DIRECTORY)
    runner = application.test_cli_runner()
    assert "1 imported" in runner.invoke(args=["customers", "import", str(directory)]).output
    yield application
    application.extensions["selfserve"].close()


def join_on(app, channel_prefix: str) -> None:
    client = app.test_client()
    send_text(client, "JOIN", channel_prefix + NUMBER)
    send_text(client, "Y", channel_prefix + NUMBER)


def birthdays(app):
    result = app.test_cli_runner().invoke(args=["birthdays", "send", "--date", "2027-02-28"])
    assert result.exit_code == 0, result.output


def test_whatsapp_consent_makes_whatsapp_the_marketing_channel(wa_app):
    with wa_app.extensions["selfserve"].sessions() as db:
        assert marketing_channel(db, NUMBER) is None
    join_on(wa_app, "whatsapp:")
    with wa_app.extensions["selfserve"].sessions() as db:
        assert marketing_channel(db, NUMBER) == "whatsapp"


def test_a_birthday_within_the_window_goes_free_form_on_whatsapp(wa_app, twilio_stand_in):
    join_on(wa_app, "whatsapp:")
    birthdays(wa_app)
    [message] = twilio_stand_in.messages
    assert (message.to, message.sender) == ("whatsapp:" + NUMBER, "whatsapp:" + WHATSAPP_FROM)
    assert message.body.startswith("Happy birthday Lea! Your gift code: ")


def test_a_birthday_after_the_window_is_the_template(wa_app, twilio_stand_in):
    join_on(wa_app, "whatsapp:")
    twilio_stand_in.whatsapp.approve(SID, ("1", "2"), marketing=True)
    twilio_stand_in.whatsapp.close_window(NUMBER)
    birthdays(wa_app)
    [message] = twilio_stand_in.messages
    assert message.content_sid == SID
    assert message.content_variables["1"] == "Lea"
    assert not message.has_body


def test_a_birthday_whatsapp_refuses_is_dropped_not_texted(wa_app, twilio_stand_in):
    join_on(wa_app, "whatsapp:")
    twilio_stand_in.whatsapp.not_on_whatsapp.add(NUMBER)
    birthdays(wa_app)
    assert twilio_stand_in.messages == []


def test_sms_consent_keeps_birthdays_on_sms(wa_app, twilio_stand_in):
    join_on(wa_app, "")
    birthdays(wa_app)
    [message] = twilio_stand_in.messages
    assert message.to == NUMBER
