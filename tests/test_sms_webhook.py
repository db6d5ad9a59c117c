"""The inbound-message webhook: signatures, idempotency, keywords, compliance, identity."""

from __future__ import annotations

import logging
import threading

import httpx
import pytest
from sqlalchemy import func, select

from selfserve.customers import pseudonym
from selfserve.models import InboundMessage, IssuedCoupon, OptOut
from tests.conftest import (
    PUBLIC_BASE_URL,
    inbound_form,
    new_message_sid,
    post_signed,
    reply_text,
    send_text,
    signature_for,
)

WEBHOOK = "/webhooks/twilio/sms"


def rows(app, model):
    with app.extensions["selfserve"].sessions() as db:
        return db.scalars(select(model)).all()


def count(app, model) -> int:
    with app.extensions["selfserve"].sessions() as db:
        return db.scalar(select(func.count()).select_from(model))


class TestSignature:
    def test_a_correctly_signed_text_gets_twiml(self, client):
        response = send_text(client, "SPRING")
        assert response.status_code == 200
        assert response.mimetype in ("text/xml", "application/xml")
        assert response.data.startswith(b"<?xml")
        assert reply_text(response).startswith("Your Spring code: T1-")

    def test_a_missing_signature_is_refused_and_nothing_happens(self, app, client, talon_stand_in):
        response = client.post(WEBHOOK, data=inbound_form("SPRING"))
        assert response.status_code == 403
        assert response.data == b""
        assert count(app, InboundMessage) == 0
        assert talon_stand_in.requests == []

    def test_a_tampered_body_is_refused(self, app, client, talon_stand_in):
        form = inbound_form("HELLO")
        signature = signature_for(WEBHOOK, form)
        form["Body"] = "SPRING"
        response = client.post(WEBHOOK, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 403
        assert count(app, InboundMessage) == 0
        assert talon_stand_in.requests == []

    def test_a_signature_over_http_instead_of_https_is_refused(self, client):
        form = inbound_form("SPRING")
        signature = signature_for(WEBHOOK, form, base_url=PUBLIC_BASE_URL.replace("https", "http"))
        response = client.post(WEBHOOK, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 403

    def test_a_signature_made_with_another_token_is_refused(self, client):
        response = post_signed(client, inbound_form("SPRING"), token="not-our-token")
        assert response.status_code == 403

    def test_an_unknown_extra_parameter_is_still_valid(self, client):
        form = inbound_form("SPRING", AddOns='{"status":"successful"}', NewField="x")
        assert post_signed(client, form).status_code == 200

    def test_the_signed_url_is_the_public_base_url_not_the_internal_one(self, client):
        # The test client calls http://localhost/...; Twilio signed https://sms.acme.example/...
        response = send_text(client, "SPRING")
        assert response.status_code == 200

    def test_a_re_encoded_query_string_is_refused(self, client):
        form = inbound_form("SPRING")
        signature = signature_for(WEBHOOK + "?src=a%27b", form)
        response = client.post(
            WEBHOOK + "?src=a'b", data=form, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 403

    def test_a_raw_query_string_is_part_of_the_signed_url(self, client):
        form = inbound_form("SPRING")
        signature = signature_for(WEBHOOK + "?src=a%27b", form)
        response = client.post(
            WEBHOOK + "?src=a%27b", data=form, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 200

    def test_another_accounts_message_is_refused(self, client):
        form = inbound_form("SPRING", AccountSid="AC" + "1" * 32)
        assert post_signed(client, form).status_code == 403

    @pytest.mark.parametrize("missing", ["MessageSid", "From"])
    def test_a_signed_form_without_required_fields_is_a_400(self, client, missing):
        form = inbound_form("SPRING")
        del form[missing]
        assert post_signed(client, form).status_code == 400


class TestIdempotency:
    def test_a_repeated_message_sid_gets_the_same_reply_and_one_talon_call(
        self, app, client, talon_stand_in
    ):
        sid = new_message_sid()
        first = send_text(client, "SPRING", message_sid=sid)
        second = send_text(client, "SPRING", message_sid=sid)
        assert reply_text(first) == reply_text(second)
        assert len(talon_stand_in.coupon_requests()) == 1
        assert count(app, InboundMessage) == 1

    def test_simultaneous_duplicates_make_one_talon_call(self, app, live_app, talon_stand_in):
        talon_stand_in.delay_seconds = 0.3  # the first delivery is still working
        form = inbound_form("SPRING", sender="+61491570111")
        headers = {"X-Twilio-Signature": signature_for(WEBHOOK, form)}
        replies: list[str] = []

        def deliver() -> None:
            answer = httpx.post(live_app.url + WEBHOOK, data=form, headers=headers, timeout=10)
            replies.append((answer.status_code, answer.text))

        threads = [threading.Thread(target=deliver) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [status for status, _ in replies] == [200] * 4
        assert len({body for _, body in replies}) == 1
        assert "Your Spring code: T1-" in replies[0][1]
        assert len(talon_stand_in.coupon_requests()) == 1
        assert count(app, InboundMessage) == 1


class TestKeywords:
    @pytest.mark.parametrize(
        "body",
        ["SPRING", "spring", "  bloom!! ", "Bloom.", "🌸 spring", "spring please", "SPRING\n"],
    )
    def test_the_first_word_picks_the_campaign(self, client, body):
        assert reply_text(send_text(client, body)).startswith("Your Spring code: ")

    def test_an_unknown_keyword_gets_help_naming_the_active_keywords(self, client):
        reply = reply_text(send_text(client, "WINTER"))
        assert "SPRING" in reply
        assert "POINTS" in reply
        assert "STOP" in reply

    @pytest.mark.parametrize(
        "body",
        [
            "",
            "🌸🌸🌸",
            "x" * 1600,
            "spring\x00",
            "\x00\x00",
            "'; DROP TABLE customers; --",
            "<script>alert(1)</script>",
            "   ",
            "١٢٣",
        ],
    )
    def test_odd_bodies_get_a_helpful_200(self, client, body):
        response = send_text(client, body)
        assert response.status_code == 200
        assert reply_text(response)

    def test_a_returning_customer_gets_the_same_code_without_calling_talon(
        self, client, talon_stand_in
    ):
        first = reply_text(send_text(client, "SPRING"))
        second = reply_text(send_text(client, "bloom"))
        assert first == second
        assert len(talon_stand_in.coupon_requests()) == 1

    def test_different_customers_get_different_codes(self, client):
        first = reply_text(send_text(client, "SPRING", sender="+61491570156"))
        second = reply_text(send_text(client, "SPRING", sender="+61491570157"))
        assert first != second

    def test_an_inactive_campaign_says_it_has_ended(self, app, client):
        from tests.conftest import import_campaigns_text

        import_campaigns_text(
            app,
            """
[[campaign]]
slug = "summer"
name = "Summer sale"
keywords = ["SUMMER"]
application_id = 1
campaign_id = 2
active = false
""",
        )
        assert "Summer sale has ended" in reply_text(send_text(client, "summer"))


class TestCompliance:
    @pytest.mark.parametrize(
        "word",
        [
            "STOP",
            "stop",
            "Stop.",
            "STOPALL",
            "UNSUBSCRIBE",
            "CANCEL",
            "END",
            "QUIT",
            "REVOKE",
            "OPTOUT",
            "stop all",
        ],
    )
    def test_opt_out_words_record_an_opt_out_and_answer_nothing(self, app, client, word):
        response = send_text(client, word, sender="+61491570123")
        assert response.status_code == 200
        assert reply_text(response) is None
        opt_outs = rows(app, OptOut)
        assert [(o.phone_e164, o.opted_out) for o in opt_outs] == [("+61491570123", True)]

    def test_opt_out_type_from_advanced_opt_out_wins_over_the_body(self, app, client):
        form = inbound_form("ARRET", sender="+61491570124", OptOutType="STOP")
        assert reply_text(post_signed(client, form)) is None
        assert rows(app, OptOut)[0].opted_out is True

    def test_an_opted_out_customer_gets_no_replies_and_no_code(self, client, talon_stand_in):
        send_text(client, "STOP")
        assert reply_text(send_text(client, "SPRING")) is None
        assert talon_stand_in.coupon_requests() == []

    @pytest.mark.parametrize("word", ["START", "UNSTOP", "YES", "start"])
    def test_opt_in_words_lift_the_opt_out(self, app, client, talon_stand_in, word):
        send_text(client, "STOP")
        assert reply_text(send_text(client, word)) is None
        assert rows(app, OptOut)[0].opted_out is False
        assert reply_text(send_text(client, "SPRING")).startswith("Your Spring code")

    @pytest.mark.parametrize("word", ["HELP", "help", "INFO", "Help!"])
    def test_help_names_the_programme_how_to_stop_and_the_rates(self, client, word):
        reply = reply_text(send_text(client, word))
        assert "Acme Rewards" in reply
        assert "STOP" in reply
        assert "Msg&data rates may apply" in reply


class TestIdentity:
    def test_a_directory_customer_is_known_by_their_customer_id(
        self, app, runner, client, talon_stand_in, tmp_path
    ):
        csv = tmp_path / "customers.csv"
        csv.write_text("phone,customer_id\n0491 570 156,CUST-1\n")
        assert runner.invoke(args=["customers", "import", str(csv)]).exit_code == 0
        send_text(client, "SPRING", sender="+61491570156")
        args = talon_stand_in.coupon_requests()[0].args
        assert args["identifier"] == "CUST-1:34"
        assert args["recipientIntegrationId"] == "CUST-1"

    def test_a_stranger_gets_a_stable_pseudonym_with_no_phone_digits(self, client, talon_stand_in):
        send_text(client, "SPRING", sender="+61491570156")
        send_text(client, "POINTS", sender="+61491570156")
        coupon_args = talon_stand_in.coupon_requests()[0].args
        loyalty_args = talon_stand_in.requests[-1].args
        pseudonym = coupon_args["recipientIntegrationId"]
        assert pseudonym.startswith("ss-")
        assert loyalty_args["profileIntegrationId"] == pseudonym
        for value in (*coupon_args.values(), *loyalty_args.values()):
            assert "491570156" not in value

    def test_whatsapp_is_the_same_customer_as_their_sms_number(self, client, talon_stand_in):
        by_sms = reply_text(send_text(client, "SPRING", sender="+61491570156"))
        by_whatsapp = reply_text(send_text(client, "SPRING", sender="whatsapp:+61491570156"))
        assert by_sms == by_whatsapp
        assert len(talon_stand_in.coupon_requests()) == 1


class TestTalonOne:
    def test_the_coupon_call_carries_every_header_and_parameter(self, client, talon_stand_in):
        send_text(client, "SPRING")
        call = talon_stand_in.coupon_requests()[0]
        assert call.headers["Authorization"] == "ApiKey-v1 talon-test-key"
        assert call.headers["destination-hostname"] == "acme.europe-west1.talon.one"
        assert call.headers["customer-engagement-platform-name"] == "selfserve-tests"
        assert call.headers["X-DRY-RUN"] == "false"
        assert call.args["applicationId"] == "12"
        assert call.args["campaignId"] == "34"
        assert call.args["externalCampaignId"] == "sms-spring"

    def test_the_reply_uses_the_template_with_the_code_and_expiry(self, client, talon_stand_in):
        reply = reply_text(send_text(client, "SPRING"))
        code = next(iter(talon_stand_in.coupons.values()))["Value"]
        assert reply == f"Your Spring code: {code} (valid until 31 Dec)"

    def test_loyalty_replies_with_the_balance_tier_and_pending_points(
        self, settings, client, talon_stand_in
    ):
        customer_id = pseudonym("+61491570156", settings.identity_secret)
        talon_stand_in.add_profile(customer_id, 7, balance=10.5)
        reply = reply_text(send_text(client, "POINTS"))
        assert reply == "You have 10.5 points (silver-tier), 5.1 pending"

    @pytest.mark.parametrize("status", [400, 401, 404])
    def test_configuration_errors_are_polite_to_the_customer_and_loud_in_the_log(
        self, app, client, talon_stand_in, caplog, status
    ):
        talon_stand_in.answer_next(
            status, {"StatusCode": status, "Error": "Bad thing", "RequestUUID": "req-uuid-123"}
        )
        with caplog.at_level(logging.INFO):
            reply = reply_text(send_text(client, "SPRING"))
        assert "can't do that right now" in reply
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1
        assert errors[0].request_uuid == "req-uuid-123"
        assert errors[0].status == status
        assert rows(app, InboundMessage)[0].outcome == "failed"
        assert count(app, IssuedCoupon) == 0

    def test_an_unknown_talon_campaign_is_a_configuration_error(self, app, client):
        reply = reply_text(send_text(client, "BROKEN"))
        assert "can't do that right now" in reply
        assert rows(app, InboundMessage)[0].outcome == "failed"

    @pytest.mark.parametrize("status", [500, 502, 503, 429])
    def test_transient_errors_get_a_polite_text(self, client, talon_stand_in, status):
        talon_stand_in.answer_next(
            status,
            {"StatusCode": status, "Error": "x", "RequestUUID": "u"},
            headers={"Retry-After": "3"},
        )
        response = send_text(client, "SPRING")
        assert response.status_code == 200
        assert reply_text(response)


class TestMessageLog:
    def test_every_text_is_recorded_with_a_masked_number_and_outcome(self, app, client):
        send_text(client, "SPRING", sender="+61491570156")
        send_text(client, "WINTER", sender="+61491570156")
        logged = sorted(rows(app, InboundMessage), key=lambda m: m.id)
        assert [m.outcome for m in logged] == ["code_issued", "unknown_keyword"]
        assert logged[0].phone_masked == "+61 4•• ••• •56"
        assert logged[0].keyword == "SPRING"
        assert logged[0].campaign_slug == "spring"
        assert logged[0].reply.startswith("Your Spring code")
        assert logged[1].keyword == "WINTER"

    def test_logs_never_contain_the_full_number_or_secrets(self, client, caplog):
        with caplog.at_level(logging.DEBUG):
            send_text(client, "SPRING", sender="+61491570156")
            send_text(client, "STOP", sender="+61491570156")
            send_text(client, "HELP", sender="whatsapp:+61491570157")
        text = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
        assert "491570156" not in text
        assert "491570157" not in text
        assert "talon-test-key" not in text
        assert "twilio-test-token" not in text
