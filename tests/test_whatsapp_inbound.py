"""WhatsApp texts on the inbound webhook: one customer per number, business-scoped senders,
per-channel STOP and consent, the 24-hour window each inbound message opens."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from app import create_app
from selfserve.customers import is_whatsapp_opted_out, scoped_person
from selfserve.models import ConsentRecord, InboundMessage, OptOut, WhatsAppContact
from tests.conftest import (
    SPRING_CAMPAIGNS,
    import_campaigns_text,
    inbound_form,
    post_signed,
    reply_text,
    send_text,
)

NUMBER = "+61491570156"
WHATSAPP = "whatsapp:" + NUMBER
SCOPED_ID = "US.13491208655302741918"
CLUB = """
[[campaign]]
slug = "club"
name = "Acme Club"
keywords = ["JOIN"]
action = "subscribe"
reply = "Reply Y to get Acme offers. Reply STOP to cancel."
"""


def rows(app, model):
    app.extensions["selfserve"].returning.flush()  # the fast path logs texts in batches
    with app.extensions["selfserve"].sessions() as db:
        return db.scalars(select(model)).all()


def coupon_calls(talon_stand_in) -> int:
    return len(talon_stand_in.coupon_requests())


class TestOneCustomerPerNumber:
    def test_spring_on_whatsapp_gets_a_code_in_twiml(self, client):
        assert reply_text(send_text(client, "SPRING", WHATSAPP)).startswith("Your Spring code: ")

    def test_whatsapp_then_sms_is_one_code_and_one_talon_call(self, client, talon_stand_in):
        by_whatsapp = reply_text(send_text(client, "SPRING", WHATSAPP))
        by_sms = reply_text(send_text(client, "spring", NUMBER))
        assert by_whatsapp == by_sms
        assert coupon_calls(talon_stand_in) == 1

    def test_the_message_log_records_the_channel(self, app, client):
        send_text(client, "SPRING", WHATSAPP)
        send_text(client, "SPRING", NUMBER)
        assert sorted(m.channel for m in rows(app, InboundMessage)) == ["sms", "whatsapp"]

    def test_each_whatsapp_message_opens_the_window(self, app, client):
        send_text(client, "HELLO", WHATSAPP)
        (contact,) = rows(app, WhatsAppContact)
        assert contact.person == NUMBER
        assert contact.last_inbound_at is not None

    @pytest.mark.parametrize("body", ["POINTS", "MYCODES", "HELP"])
    def test_other_words_are_answered_on_whatsapp_too(self, client, body):
        assert reply_text(send_text(client, body, WHATSAPP))


class TestBusinessScopedSender:
    def test_a_scoped_id_gets_a_code_as_its_own_person(self, app, client, talon_stand_in):
        reply = reply_text(send_text(client, "SPRING", "whatsapp:" + SCOPED_ID))
        assert reply.startswith("Your Spring code: ")
        assert reply != reply_text(send_text(client, "SPRING", NUMBER))
        (contact,) = rows(app, WhatsAppContact)
        assert contact.person == scoped_person(SCOPED_ID)
        assert contact.address == SCOPED_ID

    @pytest.mark.parametrize("scoped_id", ["US.ENT.11815799212886844830", "BR.1502576394655843"])
    def test_other_scoped_id_forms_get_a_code(self, client, scoped_id):
        reply = reply_text(send_text(client, "SPRING", "whatsapp:" + scoped_id))
        assert reply.startswith("Your Spring code: ")

    def test_a_scoped_id_never_shows_in_the_message_log(self, app, client):
        send_text(client, "SPRING", "whatsapp:" + SCOPED_ID)
        (message,) = rows(app, InboundMessage)
        assert SCOPED_ID not in message.phone_masked
        assert message.outcome == "code_issued"

    @pytest.mark.parametrize("sender", ["whatsapp:", "whatsapp:US.", "whatsapp:<b>hi</b>"])
    def test_an_unreadable_whatsapp_sender_is_a_polite_200(self, client, sender):
        assert send_text(client, "SPRING", sender).status_code == 200


class TestProfileName:
    def test_profile_name_is_signed_but_never_shown(self, client):
        form = inbound_form("SPRING", WHATSAPP, ProfileName="<script>alert(1)</script>")
        response = post_signed(client, form)
        assert response.status_code == 200
        assert b"script" not in response.data


class TestStopPerChannel:
    def test_stop_on_whatsapp_is_confirmed_and_stops_whatsapp_only(self, app, client):
        confirmation = reply_text(send_text(client, "STOP", WHATSAPP))
        assert "no more WhatsApp messages" in confirmation
        assert reply_text(send_text(client, "SPRING", WHATSAPP)) is None
        assert reply_text(send_text(client, "SPRING", NUMBER)).startswith("Your Spring code")
        assert rows(app, OptOut) == []
        with app.extensions["selfserve"].sessions() as db:
            assert is_whatsapp_opted_out(db, NUMBER)

    def test_stop_in_french_on_whatsapp_is_confirmed_in_french(self, settings):
        application = create_app(replace(settings, sms_languages="en,fr"))
        import_campaigns_text(application, SPRING_CAMPAIGNS)
        client = application.test_client()
        confirmation = reply_text(send_text(client, "ARRET", WHATSAPP))
        assert "plus de messages WhatsApp" in confirmation
        assert reply_text(send_text(client, "SPRING", WHATSAPP)) is None
        assert reply_text(send_text(client, "SPRING", NUMBER)).startswith("Your Spring code")
        application.extensions["selfserve"].close()

    def test_a_typo_of_stop_on_whatsapp_stops_it(self, client):
        send_text(client, "STPO", WHATSAPP)
        assert reply_text(send_text(client, "SPRING", WHATSAPP)) is None

    def test_stop_by_sms_leaves_whatsapp_working(self, client):
        send_text(client, "STOP", NUMBER)
        assert reply_text(send_text(client, "SPRING", NUMBER)) is None
        assert reply_text(send_text(client, "SPRING", WHATSAPP)).startswith("Your Spring code")

    def test_start_on_whatsapp_is_confirmed_and_lifts_it(self, client):
        send_text(client, "STOP", WHATSAPP)
        assert reply_text(send_text(client, "START", WHATSAPP))
        assert reply_text(send_text(client, "SPRING", WHATSAPP)).startswith("Your Spring code")


class TestDoubleOptInOnWhatsApp:
    def test_join_and_y_on_whatsapp_make_a_whatsapp_consent(self, app, client):
        import_campaigns_text(app, CLUB)
        send_text(client, "JOIN", WHATSAPP)
        assert reply_text(send_text(client, "Y", WHATSAPP)) != reply_text(
            send_text(client, "Y", NUMBER)
        )
        trail = [(r.channel, r.state) for r in rows(app, ConsentRecord)]
        assert trail == [("whatsapp", "pending"), ("whatsapp", "consented")]

    def test_consent_export_has_a_channel_column(self, app, client, runner):
        import_campaigns_text(app, CLUB)
        send_text(client, "JOIN", WHATSAPP)
        result = runner.invoke(args=["consent", "export"])
        header, row = result.output.strip().splitlines()[:2]
        assert header.split(",")[2] == "channel"
        assert row.split(",")[2] == "whatsapp"


class TestForget:
    def test_forget_on_whatsapp_erases_the_whatsapp_contact(self, app, client):
        send_text(client, "SPRING", WHATSAPP)
        send_text(client, "FORGET ME", WHATSAPP)
        reply = reply_text(send_text(client, "FORGET", WHATSAPP))
        assert reply
        assert rows(app, WhatsAppContact) == []
