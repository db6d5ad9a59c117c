"""Asking for a one-time code: the number form, the text it sends, and its CSRF guard."""

from __future__ import annotations

import base64
import json
import re
import zlib
from dataclasses import replace

import pytest

from app import create_app
from selfserve.models import (
    OptOut,
    OutboundMessage,
    PhoneVerification,
)
from tests.conftest import (
    OUR_NUMBER,
    import_campaigns_text,
    reply_text,
    send_text,
    wait_for,
)
from tests.landing_pages.conftest import (
    HOSTILE_NUMBERS,
    PHONE,
    TYPED,
    SqliteOnly,
    _spring_only,
    count,
    error_text,
    latest_code,
    rows,
    shown_code,
)
from tests.phone_visitor import (
    PhoneVisitor,
    code_form,
    number_form,
    one_time_code,
    read_forms,
)


class TestAskingForACode:
    def test_a_number_gets_a_one_time_code_by_sms_and_a_code_form(
        self, app, visitor, twilio_stand_in
    ):
        visitor.scan()
        response = visitor.enter_number(TYPED)
        assert response.status_code == 200
        [sms] = twilio_stand_in.messages_to(PHONE)
        assert sms.sender == OUR_NUMBER
        assert re.fullmatch(
            r"Your Spring 20% off code is \d{6}\. It expires in 10 minutes\.\n\n"
            r"@sms\.acme\.example #\d{6}",
            sms.body,
        )
        field = code_form(visitor.page).code_field()
        assert field.name == "code"
        assert field.attributes["autocomplete"] == "one-time-code"
        assert field.attributes["inputmode"] == "numeric"
        assert field.attributes["pattern"] == "[0-9]{6}"
        assert '<label for="code">' in visitor.page
        assert "+61 4•• ••• •56" in visitor.page
        assert "491570156" not in visitor.page

    def test_the_code_is_stored_only_as_a_keyed_hash(self, app, visitor, twilio_stand_in):
        visitor.scan()
        visitor.enter_number(TYPED)
        code = latest_code(twilio_stand_in)
        [row] = rows(app, PhoneVerification)
        assert re.fullmatch(r"[0-9a-f]{64}", row.code_hash)
        stored = json.dumps(
            {c.name: str(getattr(row, c.name)) for c in PhoneVerification.__table__.columns}
        )
        assert code not in stored
        codes = app.extensions["selfserve"].landing.codes
        assert row.code_hash == codes.code_hash(row.token, code)
        # The outbox keeps what was sent, without a usable code.
        [outbound] = rows(app, OutboundMessage)
        assert outbound.purpose == "one_time_code"
        assert code not in outbound.body
        assert outbound.message_sid == twilio_stand_in.messages[-1].sid

    def test_the_number_never_travels_in_a_url_or_the_session_cookie(
        self, client, visitor, twilio_stand_in
    ):
        visitor.scan()
        visitor.enter_number(TYPED)
        visitor.enter_code(latest_code(twilio_stand_in))
        cookie = client.get_cookie("session").value
        payload = cookie.split(".")[1] if cookie.startswith(".") else cookie.split(".")[0]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        if cookie.startswith("."):
            decoded = zlib.decompress(decoded)
        assert b"491570156" not in decoded
        for form in read_forms(visitor.page):
            assert "491570156" not in form.action

    def test_the_sandbox_outbox_shows_the_code(self, sandbox_settings):
        application = create_app(sandbox_settings)
        try:
            visitor = PhoneVisitor(application.test_client())
            import_campaigns_text(application, _spring_only())
            visitor.scan()
            assert visitor.enter_number(TYPED).status_code == 200
            [outbound] = rows(application, OutboundMessage)
            assert outbound.provider == "sandbox"
            assert outbound.to_e164 == PHONE
            response = visitor.enter_code(one_time_code(outbound.body))
            assert response.status_code == 200
            assert shown_code(visitor.page).startswith("SBX-")
        finally:
            application.extensions["selfserve"].close()

    def test_garbage_and_hostile_numbers_get_a_clear_4xx_and_no_text(
        self, app, visitor, twilio_stand_in
    ):
        visitor.scan()
        for hostile in HOSTILE_NUMBERS:
            response = visitor.enter_number(hostile)
            assert response.status_code == 400, repr(hostile)
            assert error_text(visitor.page) == "That doesn't look like a mobile number."
            assert "<script>alert" not in visitor.page
            assert "<svg onload" not in visitor.page
            number_form(visitor.page)  # the form is there to try again
        assert twilio_stand_in.messages == []
        assert count(app, PhoneVerification) == 0

    def test_a_missing_number_field_is_a_4xx(self, app, client, twilio_stand_in):
        visitor = PhoneVisitor(client)
        visitor.scan()
        form = number_form(visitor.page)
        data = form.data()
        del data["phone"]
        assert visitor.submit(form, data).status_code == 400
        assert twilio_stand_in.messages == []

    def test_a_body_too_large_is_refused_without_a_5xx(self, visitor, twilio_stand_in):
        visitor.scan()
        response = visitor.enter_number("1" * 400_000)
        assert response.status_code == 413
        assert twilio_stand_in.messages == []

    def test_full_width_digits_are_a_real_number(self, visitor, twilio_stand_in):
        visitor.scan()
        assert visitor.enter_number("０４９１ ５７０ １５６").status_code == 200
        assert len(twilio_stand_in.messages_to(PHONE)) == 1

    @pytest.mark.parametrize(
        ("typed", "why"),
        [
            ("02 9876 5432", "a landline"),
            ("1900 123 456", "premium rate"),
            ("1800 123 456", "toll free"),
        ],
    )
    def test_numbers_that_cannot_or_must_not_get_a_text_are_refused(
        self, visitor, twilio_stand_in, typed, why
    ):
        visitor.scan()
        assert visitor.enter_number(typed).status_code == 400, why
        assert twilio_stand_in.messages == []

    def test_a_country_outside_the_allow_list_is_refused_and_nothing_sent(
        self, app, visitor, twilio_stand_in
    ):
        visitor.scan()
        response = visitor.enter_number("+44 7400 123456")
        assert response.status_code == 422
        assert "we can only text mobile numbers from Australia" in error_text(visitor.page)
        assert twilio_stand_in.messages == []
        assert count(app, PhoneVerification) == 0

    def test_the_allow_list_can_name_other_countries(self, settings, twilio_stand_in):
        application = create_app(replace(settings, otp_allowed_regions="AU, GB"))
        try:
            import_campaigns_text(application, _spring_only())
            visitor = PhoneVisitor(application.test_client())
            visitor.scan()
            assert visitor.enter_number("+44 7400 123456").status_code == 200
            assert len(twilio_stand_in.messages_to("+447400123456")) == 1
        finally:
            application.extensions["selfserve"].close()

    def test_an_opted_out_number_is_told_how_to_opt_back_in_and_not_texted(
        self, app, client, twilio_stand_in
    ):
        assert reply_text(send_text(client, "STOP", sender=PHONE)) is None
        visitor = PhoneVisitor(client)
        visitor.scan()
        response = visitor.enter_number(TYPED)
        assert response.status_code == 409
        assert "text START to 0480 000 000" in error_text(visitor.page)
        assert twilio_stand_in.messages == []
        assert count(app, PhoneVerification) == 0

    def test_texting_start_lets_the_number_get_codes_again(self, client, twilio_stand_in):
        send_text(client, "STOP", sender=PHONE)
        send_text(client, "START", sender=PHONE)
        visitor = PhoneVisitor(client)
        visitor.scan()
        assert visitor.enter_number(TYPED).status_code == 200
        assert len(twilio_stand_in.messages_to(PHONE)) == 1

    def test_twilio_saying_opted_out_records_it_and_tells_the_visitor(
        self, app, visitor, twilio_stand_in
    ):
        twilio_stand_in.opted_out.add(PHONE)
        visitor.scan()
        assert visitor.enter_number(TYPED).status_code == 409
        [opt_out] = rows(app, OptOut)
        assert (opt_out.phone_e164, opt_out.opted_out) == (PHONE, True)

    def test_twilio_being_down_for_a_moment_still_gets_the_code_through(
        self, app, visitor, twilio_stand_in, worker
    ):
        twilio_stand_in.fail_next(503)
        visitor.scan()
        response = visitor.enter_number(TYPED)
        assert response.status_code == 200  # the outbox owes the text; the worker retries it
        code_form(visitor.page)
        wait_for(lambda: twilio_stand_in.messages_to(PHONE), what="the retried code")
        [outbound] = rows(app, OutboundMessage)
        assert outbound.attempts == 2
        assert visitor.enter_code(latest_code(twilio_stand_in)).status_code == 200

    def test_twilio_refusing_our_account_is_a_polite_503_not_a_crash(
        self, visitor, twilio_stand_in
    ):
        twilio_stand_in.fail_next(401, 20003)
        visitor.scan()
        response = visitor.enter_number(TYPED)
        assert response.status_code == 503
        assert "couldn't send the text" in error_text(visitor.page)

    def test_twilio_refusing_the_number_is_a_clear_4xx(self, visitor, twilio_stand_in):
        twilio_stand_in.fail_next(400, 21614)
        visitor.scan()
        assert visitor.enter_number(TYPED).status_code == 400

    def test_asking_again_sends_a_new_code_and_the_old_one_dies(self, visitor, twilio_stand_in):
        visitor.scan()
        visitor.enter_number(TYPED)
        first = latest_code(twilio_stand_in)
        assert visitor.press("Send me a new code").status_code == 200
        assert "We've sent a new code" in visitor.text
        second = latest_code(twilio_stand_in)
        assert len(twilio_stand_in.messages_to(PHONE)) == 2
        if first != second:
            assert visitor.enter_code(first).status_code == 422
        assert visitor.enter_code(second).status_code == 200
        assert shown_code(visitor.page)

    def test_reloading_the_code_page_keeps_the_code_form(self, visitor, twilio_stand_in):
        visitor.scan()
        visitor.enter_number(TYPED)
        assert visitor.get("/q/spring/verify").status_code == 200
        code_form(visitor.page)
        assert visitor.enter_code(latest_code(twilio_stand_in)).status_code == 200


class TestCsrf(SqliteOnly):
    def test_a_number_post_without_the_token_is_refused_and_sends_nothing(
        self, app, visitor, twilio_stand_in
    ):
        visitor.scan()
        form = number_form(visitor.page)
        data = form.data(phone=TYPED)
        del data["csrf_token"]
        response = visitor.submit(form, data)
        assert response.status_code == 400
        assert twilio_stand_in.messages == []
        assert count(app, PhoneVerification) == 0

    def test_a_forged_token_is_refused(self, visitor, twilio_stand_in):
        visitor.scan()
        form = number_form(visitor.page)
        response = visitor.submit(form, form.data(phone=TYPED, csrf_token="forged"))
        assert response.status_code == 400
        assert twilio_stand_in.messages == []

    def test_a_token_from_another_browser_is_refused(self, app, client, twilio_stand_in):
        other = PhoneVisitor(app.test_client())
        other.scan()
        stolen = number_form(other.page).data()["csrf_token"]
        visitor = PhoneVisitor(client)
        visitor.scan()
        form = number_form(visitor.page)
        assert visitor.submit(form, form.data(phone=TYPED, csrf_token=stolen)).status_code == 400
        assert twilio_stand_in.messages == []

    def test_a_code_post_without_the_token_is_refused_and_not_counted(
        self, app, visitor, twilio_stand_in
    ):
        visitor.scan()
        visitor.enter_number(TYPED)
        form = code_form(visitor.page)
        data = form.data(code=latest_code(twilio_stand_in))
        del data["csrf_token"]
        assert visitor.submit(form, data).status_code == 400
        assert shown_code(visitor.page) is None
        [row] = rows(app, PhoneVerification)
        assert (row.attempts, row.state) == (0, "pending")
