"""QR landing pages over Flask's test client: scan, prove the number, see the code on the page.

The visitor reads the forms the pages really have (tests/phone_visitor.py), the one-time code
comes from the Twilio stand-in on a real socket, and the coupon from the Talon.One stand-in,
so every branch is exercised the way the independent harness will.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import shutil
import zlib
from dataclasses import replace
from datetime import timedelta
from html import unescape
from pathlib import Path

import cairosvg
import pytest
from sqlalchemy import func, select

from app import create_app
from selfserve.customers import pseudonym
from selfserve.models import (
    Customer,
    DeferredCode,
    InboundMessage,
    IssuedCoupon,
    LandingVisit,
    OptOut,
    OutboundMessage,
    PhoneVerification,
    utcnow,
)
from selfserve.queue import WorkerThreads
from tests.conftest import (
    OUR_NUMBER,
    TEST_REDIS_URL,
    WITH_REDIS,
    import_campaigns_text,
    reply_text,
    send_text,
    wait_for,
)
from tests.phone_visitor import (
    ANDROID,
    IPHONE,
    PhoneVisitor,
    code_form,
    number_form,
    one_time_code,
    read_forms,
)
from tests.test_code_pages import decoded

PHONE = "+61491570156"
TYPED = "0491 570 156"
E164 = "+61491570156"  # TYPED in E.164
HOSTILE_NUMBERS = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "0" * 10_000,
    "+61 491 570 156\x00",
    "'; DROP TABLE phone_verifications; --",
    "🙂🙂🙂",
    "\u202e6510754190",
    "   ",
    "",
    "+999 123 456",
    "javascript:alert(1)",
    "0491 570 15",
    "1e10",
]


def rows(app, model):
    with app.extensions["selfserve"].sessions() as db:
        return db.scalars(select(model)).all()


def count(app, model) -> int:
    with app.extensions["selfserve"].sessions() as db:
        return db.scalar(select(func.count()).select_from(model))


def latest_code(twilio_stand_in, phone: str = PHONE) -> str:
    messages = twilio_stand_in.messages_to(phone)
    assert messages, f"no text was sent to {phone}"
    return one_time_code(messages[-1].body)


def shown_code(html: str) -> str | None:
    match = re.search(r'id="coupon-code"[^>]*>([^<]+)<', html)
    return match.group(1).strip() if match else None


def error_text(html: str) -> str:
    match = re.search(r'class="error"[^>]*>([^<]*)<', html)
    return unescape(match.group(1)) if match else ""


class SqliteOnly:
    """Tests of what pages show, with nothing database-specific: SQLite alone is enough."""

    @pytest.fixture(params=["sqlite"])
    def database_url(self, tmp_path: Path, sqlite_template: Path) -> str:
        path = tmp_path / "selfserve.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"


@pytest.fixture
def visitor(client) -> PhoneVisitor:
    return PhoneVisitor(client)


def wrong_code_for(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


class TestTheLandingPage(SqliteOnly):
    def test_the_page_names_the_campaign_and_offers_a_number_form(self, app, visitor):
        import_campaigns_text(
            app,
            spring_with('offer = "20% off everything in store"', keywords='["SPRING", "BLOOM"]'),
        )
        response = visitor.scan()
        assert response.status_code == 200
        assert "Spring 20% off" in visitor.page
        assert "20% off everything in store" in visitor.page
        assert 'name="viewport"' in visitor.page
        field = number_form(visitor.page).number_field()
        assert field.type == "tel"
        assert field.name == "phone"
        assert field.attributes["autocomplete"] == "tel"
        assert re.search(r'<label for="phone">[^<]+</label>', visitor.page)

    def test_the_page_loads_nothing_from_other_sites(self, visitor):
        visitor.scan()
        # Links that load something (the favicon) are our own; rel=canonical loads nothing.
        loads = re.findall(r"<(?:img|script|link|iframe|source|object|embed)\b[^>]*>", visitor.page)
        assert loads
        for tag in loads:
            if 'rel="canonical"' not in tag:
                assert not re.search(r'(src|href)="(https?:)?//', tag), tag
        assert 'rel="stylesheet"' not in visitor.page  # the page's CSS is in the page

    def test_the_text_instead_link_fits_the_phone(self, client):
        for user_agent, link in [
            (IPHONE, "sms:+61480000000&amp;body=SPRING"),
            (ANDROID, "sms:+61480000000?body=SPRING"),
            ("Mozilla/5.0 (X11; Linux x86_64)", "sms:+61480000000?body=SPRING"),
        ]:
            visitor = PhoneVisitor(client, user_agent=user_agent)
            visitor.scan()
            assert f'href="{link}"' in visitor.page, user_agent
            assert "Text SPRING to 0480 000 000 instead" in visitor.text

    def test_a_campaign_number_wins_over_the_twilio_number(self, app, visitor):
        import_campaigns_text(app, spring_with('sms_number = "0491 570 999"'))
        visitor.scan()
        assert 'href="sms:+61491570999?body=SPRING"' in visitor.page
        assert "Text SPRING to 0491 570 999 instead" in visitor.text

    def test_an_unknown_slug_gets_a_friendly_404(self, visitor):
        for slug in ["nope", "SPRING", "a" * 300, "%3Cscript%3E", "spring%00"]:
            response = visitor.get(f"/q/{slug}")
            assert response.status_code == 404, slug
            assert "can't find that offer" in visitor.text
            assert "<script>" not in visitor.page

    @pytest.mark.parametrize(
        ("action", "extra"),
        [
            ("subscribe", 'reply = "Reply Y to get Acme offers. Reply STOP to cancel."'),
            ("birthday", 'application_id = 12\ncampaign_id = 34\nreply = "Happy birthday! {code}"'),
        ],
    )
    def test_campaigns_with_nothing_to_claim_on_a_page_get_a_friendly_404(
        self, app, visitor, action, extra
    ):
        # A sign-up (JOIN) or a birthday text has no coupon to show on a page: the number form
        # would have nothing to give, so the page is not served (and never answers 500).
        import_campaigns_text(
            app,
            f"""
[[campaign]]
slug = "club"
name = "Acme club"
keywords = ["JOIN"]
action = "{action}"
{extra}
""",
        )
        response = visitor.get("/q/club")
        assert response.status_code == 404
        assert "can't find that offer" in visitor.text
        assert read_forms(visitor.page) == []

    def test_an_inactive_campaign_gets_a_friendly_404(self, app, visitor, twilio_stand_in):
        import_campaigns_text(app, spring_with("active = false"))
        assert visitor.scan().status_code == 404
        assert "has ended" in visitor.text
        assert read_forms(visitor.page) == []

    def test_the_brand_colours_and_logo_style_the_page(self, app, visitor):
        import_campaigns_text(
            app,
            spring_with("""
brand_colour = "#0A7D3B"
accent_colour = "#FFD23F"
logo_url = "https://shop.example.com/logo.png"
"""),
        )
        visitor.scan()
        assert "--brand: #0a7d3b;" in visitor.page
        assert "--accent: #ffd23f;" in visitor.page
        assert "--on-accent: #111111;" in visitor.page  # dark text on a light yellow button
        assert '<img class="logo" src="https://shop.example.com/logo.png"' in visitor.page

    def test_a_script_logo_url_is_not_rendered(self, app, visitor):
        import_campaigns_text(app, spring_with('logo_url = "javascript:alert(1)"'))
        visitor.scan()
        assert "javascript:" not in visitor.page

    def test_pages_forbid_framing_caching_and_foreign_scripts(self, client):
        response = client.get("/q/spring")
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'nonce-" in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["Cache-Control"] == "no-store"
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        assert f'<style nonce="{nonce}">' in response.get_data(as_text=True)


class TestCountingVisits:
    def test_visits_are_counted_per_campaign_and_source(self, app, client):
        visitor = PhoneVisitor(client)
        visitor.scan(src="front-door")
        visitor.scan(src="front-door")
        visitor.scan(src="till-2")
        visitor.scan(src=None)
        visitor.scan(src="%3Cscript%3E")  # not a location token: counted without a source
        visitor.scan(slug="points", src="front-door")
        counts = {(v.campaign_slug, v.source): v.visits for v in rows(app, LandingVisit)}
        assert counts == {
            ("spring", "front-door"): 2,
            ("spring", "till-2"): 1,
            ("spring", ""): 2,
            ("points", "front-door"): 1,
        }
        assert all(v.day == utcnow().date() for v in rows(app, LandingVisit))


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


class TestCheckingTheCode:
    def test_the_right_code_shows_the_coupon_large_copyable_and_as_its_code_page_barcode(
        self, app, visitor, twilio_stand_in, talon_stand_in
    ):
        visitor.scan()
        visitor.enter_number(TYPED)
        response = visitor.enter_code(latest_code(twilio_stand_in))
        assert response.status_code == 200
        [coupon] = talon_stand_in.coupons.values()
        assert shown_code(visitor.page) == coupon["Value"]
        assert f'data-copy="{coupon["Value"]}" hidden' in visitor.page  # JS shows the button
        assert "Valid until 31 December 2026" in visitor.page
        picture = re.search(
            r'<img class="barcode" src="(/c/[A-Za-z0-9_-]+/barcode\.svg)"', visitor.page
        )
        assert picture is not None, visitor.page
        svg = visitor.get(picture.group(1))
        assert svg.status_code == 200
        assert decoded(cairosvg.svg2png(bytestring=svg.data, scale=2)) == [
            ("CODE128", coupon["Value"])
        ]

    def test_the_coupon_is_the_one_texting_spring_gets(
        self, app, client, twilio_stand_in, talon_stand_in
    ):
        visitor = PhoneVisitor(client)
        visitor.scan()
        visitor.enter_number(TYPED)
        visitor.enter_code(latest_code(twilio_stand_in))
        on_the_page = shown_code(visitor.page)
        reply = reply_text(send_text(client, "SPRING", sender=PHONE))
        assert reply.startswith(f"Your Spring code: {on_the_page} ")
        assert len(talon_stand_in.coupon_requests()) == 1

    def test_a_customer_who_texted_first_sees_the_same_code_without_a_new_talon_call(
        self, client, twilio_stand_in, talon_stand_in
    ):
        texted = reply_text(send_text(client, "spring", sender=PHONE))
        visitor = PhoneVisitor(client)
        visitor.scan()
        visitor.enter_number(TYPED)
        visitor.enter_code(latest_code(twilio_stand_in))
        assert shown_code(visitor.page) in texted
        assert len(talon_stand_in.coupon_requests()) == 1

    def test_the_identifier_follows_the_template_with_no_phone_digits(
        self, app, visitor, twilio_stand_in, talon_stand_in
    ):
        visitor.scan()
        visitor.enter_number(TYPED)
        visitor.enter_code(latest_code(twilio_stand_in))
        [request] = talon_stand_in.coupon_requests()
        identifier = request.args["identifier"]
        customer_id = request.args["recipientIntegrationId"]
        assert identifier == f"{customer_id}:34"
        assert customer_id.startswith("ss-")
        digits = "".join(ch for ch in identifier if ch.isdigit())
        for run in ("491570156", "0491570156", "61491570156", "570156"):
            assert run not in digits
            assert run not in identifier

    def test_a_directory_customer_gets_their_own_customer_id(
        self, app, visitor, twilio_stand_in, talon_stand_in
    ):
        with app.extensions["selfserve"].sessions.begin() as db:
            db.add(Customer(phone_e164=PHONE, customer_id="C-1001", first_name="Alex"))
        visitor.scan()
        visitor.enter_number(TYPED)
        visitor.enter_code(latest_code(twilio_stand_in))
        [request] = talon_stand_in.coupon_requests()
        assert request.args["identifier"] == "C-1001:34"
        assert request.args["recipientIntegrationId"] == "C-1001"

    def test_a_warmed_code_claimed_on_the_page_is_issued_then_with_talon_down(
        self, app, visitor, runner, twilio_stand_in, talon_stand_in
    ):
        with app.extensions["selfserve"].sessions.begin() as db:
            db.add(Customer(phone_e164=PHONE, customer_id="C-1001", first_name="Alex"))
        assert runner.invoke(args=["campaigns", "warm", "spring"]).exit_code == 0
        [warmed] = rows(app, IssuedCoupon)
        talon_stand_in.down = True
        visitor.scan()
        visitor.enter_number(TYPED)
        page = visitor.enter_code(latest_code(twilio_stand_in))
        assert warmed.code in page.get_data(as_text=True)
        assert len(talon_stand_in.coupon_requests()) == 1, "only the warm-up's call"
        [logged] = rows(app, InboundMessage)
        assert logged.outcome == "code_issued"
        [issued] = rows(app, IssuedCoupon)
        assert issued.warm is False

    def test_the_claim_is_in_the_message_log_with_its_source(self, app, visitor, twilio_stand_in):
        visitor.scan(src="till-2")
        visitor.enter_number(TYPED)
        visitor.enter_code(latest_code(twilio_stand_in))
        [logged] = rows(app, InboundMessage)
        [issued] = rows(app, IssuedCoupon)
        assert logged.channel == "web"
        assert logged.source == "till-2"
        assert logged.outcome == "code_issued"
        assert logged.campaign_slug == "spring"
        assert logged.phone_masked == "+61 4•• ••• •56"
        assert logged.customer_id == issued.customer_id
        assert issued.code in logged.reply
        [verification] = rows(app, PhoneVerification)
        assert verification.source == "till-2"

    def test_a_wrong_code_says_so_and_shows_no_coupon(
        self, app, visitor, twilio_stand_in, talon_stand_in
    ):
        visitor.scan()
        visitor.enter_number(TYPED)
        response = visitor.enter_code(wrong_code_for(latest_code(twilio_stand_in)))
        assert response.status_code == 422
        assert error_text(visitor.page) == "That code didn't match. You have 4 more tries."
        assert shown_code(visitor.page) is None
        assert talon_stand_in.requests == []
        code_form(visitor.page)

    def test_garbage_codes_are_wrong_guesses_not_errors(self, visitor, twilio_stand_in):
        visitor.scan()
        visitor.enter_number(TYPED)
        for typed in ["", "abc", "<script>alert(1)</script>", "1" * 5000]:
            assert visitor.enter_code(typed).status_code == 422, typed[:20]
            assert "<script>alert" not in visitor.page
        assert "You have 1 more try." in error_text(visitor.page)
        assert visitor.enter_code(latest_code(twilio_stand_in)).status_code == 200

    def test_spaces_in_a_typed_code_are_forgiven(self, visitor, twilio_stand_in):
        visitor.scan()
        visitor.enter_number(TYPED)
        code = latest_code(twilio_stand_in)
        assert visitor.enter_code(f" {code[:3]} {code[3:]} ").status_code == 200

    def test_five_wrong_guesses_lock_the_code_even_against_the_right_one(
        self, app, visitor, twilio_stand_in, talon_stand_in
    ):
        visitor.scan()
        visitor.enter_number(TYPED)
        code = latest_code(twilio_stand_in)
        wrong = wrong_code_for(code)
        statuses = [visitor.enter_code(wrong).status_code for _ in range(4)]
        assert statuses == [422, 422, 422, 422]
        assert "1 more try." in error_text(visitor.page)
        assert visitor.enter_code(wrong).status_code == 429
        assert "no longer works" in error_text(visitor.page)
        # The code form stays, so the dead code can be tried: it is refused too.
        response = visitor.enter_code(code)
        assert response.status_code == 429
        assert "no longer works" in error_text(visitor.page)
        assert shown_code(response.get_data(as_text=True)) is None
        assert talon_stand_in.requests == []
        [row] = rows(app, PhoneVerification)
        assert (row.state, row.attempts) == ("locked", 5)

    def test_after_a_lockout_a_new_code_works(self, visitor, twilio_stand_in):
        visitor.scan()
        visitor.enter_number(TYPED)
        wrong = wrong_code_for(latest_code(twilio_stand_in))
        for _ in range(5):
            visitor.enter_code(wrong)
        assert visitor.press("Send me a new code").status_code == 200
        assert visitor.enter_code(latest_code(twilio_stand_in)).status_code == 200
        assert shown_code(visitor.page)

    def test_a_code_expires_after_ten_minutes(self, app, visitor, twilio_stand_in, talon_stand_in):
        clock = MovableClock()
        app.extensions["selfserve"].landing.codes.clock = clock
        visitor.scan()
        visitor.enter_number(TYPED)
        clock.advance(timedelta(minutes=10))
        response = visitor.enter_code(latest_code(twilio_stand_in))
        assert response.status_code == 410
        assert "expired" in error_text(visitor.page)
        assert shown_code(visitor.page) is None
        assert talon_stand_in.requests == []

    def test_a_code_still_works_just_before_it_expires(self, app, visitor, twilio_stand_in):
        clock = MovableClock()
        app.extensions["selfserve"].landing.codes.clock = clock
        visitor.scan()
        visitor.enter_number(TYPED)
        clock.advance(timedelta(minutes=9, seconds=59))
        assert visitor.enter_code(latest_code(twilio_stand_in)).status_code == 200

    def test_a_code_post_with_no_code_waiting_asks_for_the_number(self, client):
        visitor = PhoneVisitor(client)
        visitor.scan()
        token = number_form(visitor.page).data()["csrf_token"]
        response = client.post("/q/spring/verify", data={"csrf_token": token, "code": "123456"})
        assert response.status_code == 400
        number_form(response.get_data(as_text=True))

    def test_a_code_for_one_campaign_does_not_open_another(
        self, client, twilio_stand_in, talon_stand_in
    ):
        visitor = PhoneVisitor(client)
        visitor.scan()
        visitor.enter_number(TYPED)
        code = latest_code(twilio_stand_in)
        token = code_form(visitor.page).data()["csrf_token"]
        response = client.post("/q/points/verify", data={"csrf_token": token, "code": code})
        assert response.status_code == 400
        assert 'id="balance"' not in response.get_data(as_text=True)
        assert talon_stand_in.requests == []
        # ...and the spring code still works where it belongs.
        assert visitor.enter_code(code).status_code == 200

    def test_the_coupon_page_can_be_reopened_in_the_same_browser(
        self, visitor, twilio_stand_in, talon_stand_in
    ):
        visitor.scan()
        visitor.enter_number(TYPED)
        visitor.enter_code(latest_code(twilio_stand_in))
        first = shown_code(visitor.page)
        assert visitor.get("/q/spring/coupon").status_code == 200
        assert shown_code(visitor.page) == first
        visitor.scan()
        assert "Show my code again" in visitor.page
        assert len(talon_stand_in.coupon_requests()) == 1

    def test_another_browser_cannot_open_the_coupon_page(self, app, visitor, twilio_stand_in):
        visitor.scan()
        visitor.enter_number(TYPED)
        visitor.enter_code(latest_code(twilio_stand_in))
        stranger = PhoneVisitor(app.test_client())
        assert stranger.get("/q/spring/coupon").status_code == 200
        assert shown_code(stranger.page) is None
        number_form(stranger.page)

    def test_loyalty_campaigns_show_the_balance(
        self, settings, client, twilio_stand_in, talon_stand_in
    ):
        talon_stand_in.add_profile(pseudonym(E164, settings.identity_secret), 7, balance=10.5)
        visitor = PhoneVisitor(client)
        visitor.scan(slug="points")
        assert "See your points balance" in visitor.page
        visitor.enter_number(TYPED)
        assert visitor.enter_code(latest_code(twilio_stand_in)).status_code == 200
        assert re.search(r'id="balance">10\.5<', visitor.page)
        assert "silver-tier" in visitor.page
        [request] = [r for r in talon_stand_in.requests if r.path.endswith("/loyalty")]
        assert request.args["loyaltyProgramId"] == "7"

    def test_talon_being_down_owes_the_code_and_texts_it_once_talon_is_back(
        self, app, visitor, twilio_stand_in, talon_stand_in
    ):
        talon_stand_in.down = True
        visitor.scan(src="till-2")
        visitor.enter_number(TYPED)
        response = visitor.enter_code(latest_code(twilio_stand_in))
        assert response.status_code == 202
        assert "You're in! We'll text your code in a few minutes." in visitor.text
        assert shown_code(visitor.page) is None
        [logged] = rows(app, InboundMessage)
        assert (logged.channel, logged.outcome, logged.source) == ("web", "deferred", "till-2")
        talon_stand_in.down = False
        services = app.extensions["selfserve"]
        running = WorkerThreads(
            services.jobs, threads=2, lease_seconds=services.settings.worker_lease_seconds
        ).start()
        try:
            texts = wait_for(
                lambda: [m for m in twilio_stand_in.messages_to(PHONE) if "T1-" in m.body],
                what="the owed code by SMS",
            )
        finally:
            running.stop()
        [coupon] = talon_stand_in.coupons.values()
        assert len(texts) == 1
        assert coupon["Value"] in texts[0].body
        # The page shows the same code now.
        assert visitor.get("/q/spring/coupon").status_code == 200
        assert shown_code(visitor.page) == coupon["Value"]

    @pytest.fixture
    def settings(self, settings):
        # Ask Talon.One again at once after a failure (the webhook's pause would wait).
        return replace(settings, talon_inline_pause_seconds=0.0)

    def test_a_code_seen_on_the_page_is_not_texted_as_well(
        self, app, visitor, twilio_stand_in, talon_stand_in
    ):
        talon_stand_in.down = True
        visitor.scan()
        visitor.enter_number(TYPED)
        assert visitor.enter_code(latest_code(twilio_stand_in)).status_code == 202
        talon_stand_in.down = False
        assert visitor.get("/q/spring/coupon").status_code == 200  # before any worker runs
        [coupon] = talon_stand_in.coupons.values()
        assert shown_code(visitor.page) == coupon["Value"]
        [owed] = rows(app, DeferredCode)
        assert owed.state == "answered_inline"
        services = app.extensions["selfserve"]
        running = WorkerThreads(
            services.jobs, threads=2, lease_seconds=services.settings.worker_lease_seconds
        ).start()
        try:
            wait_for(lambda: services.jobs.huey.pending_count() == 0, what="the queue drained")
        finally:
            running.stop()
        assert not [m for m in twilio_stand_in.messages_to(PHONE) if coupon["Value"] in m.body]

    def test_a_talon_configuration_error_is_polite_and_logged_loudly(
        self, app, visitor, twilio_stand_in, caplog
    ):
        visitor.scan(slug="broken")
        visitor.enter_number(TYPED)
        with caplog.at_level(logging.ERROR):
            response = visitor.enter_code(latest_code(twilio_stand_in))
        assert response.status_code == 503
        assert "ask a member of staff" in visitor.page
        assert any(r.getMessage() == "talon_rejected" for r in caplog.records)


class TestRateLimits(SqliteOnly):
    @pytest.fixture
    def strict_app(self, settings):
        application = create_app(
            replace(
                settings,
                otp_limit_per_number="2 per 10 minutes",
                otp_limit_per_ip="3 per 10 minutes",
            )
        )
        import_campaigns_text(application, _spring_only())
        yield application
        application.extensions["selfserve"].close()

    def test_codes_are_limited_per_number(self, strict_app, twilio_stand_in):
        statuses = []
        for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            visitor = PhoneVisitor(strict_app.test_client(), address=address)
            visitor.scan()
            statuses.append(visitor.enter_number(TYPED).status_code)
        assert statuses == [200, 200, 429]
        assert "Please wait 10 minutes" in error_text(visitor.page)
        assert len(twilio_stand_in.messages_to(PHONE)) == 2

    def test_codes_are_limited_per_client_address(self, strict_app, twilio_stand_in):
        visitor = PhoneVisitor(strict_app.test_client(), address="198.51.100.9")
        visitor.scan()
        statuses = []
        for last in range(4):
            visitor.scan()
            statuses.append(visitor.enter_number(f"0491 570 1{last}0").status_code)
        assert statuses == [200, 200, 200, 429]
        assert len(twilio_stand_in.messages) == 3
        other = PhoneVisitor(strict_app.test_client(), address="198.51.100.10")
        other.scan()
        assert other.enter_number("0491 570 199").status_code == 200

    def test_refused_numbers_do_not_use_up_the_allowance(self, strict_app, twilio_stand_in):
        visitor = PhoneVisitor(strict_app.test_client(), address="198.51.100.20")
        visitor.scan()
        for hostile in ("<script>", "+44 7400 123456", "02 9876 5432", "x" * 50):
            assert visitor.enter_number(hostile).status_code in (400, 422)
        for last in range(3):
            visitor.scan()
            assert visitor.enter_number(f"0491 570 2{last}0").status_code == 200

    def test_a_limited_answer_says_when_to_come_back(self, strict_app, twilio_stand_in):
        visitor = PhoneVisitor(strict_app.test_client(), address="198.51.100.30")
        for _ in range(2):
            visitor.scan()
            visitor.enter_number(TYPED)
        visitor.scan()
        response = visitor.enter_number(TYPED)
        assert response.status_code == 429
        assert 500 <= int(response.headers["Retry-After"]) <= 600


if WITH_REDIS:  # Redis variants: when TEST_REDIS_URL is set, and always on CI (conftest)

    @pytest.mark.needs_redis
    class TestRateLimitsSharedThroughRedis(SqliteOnly):
        def test_two_app_processes_share_the_per_number_limit(self, settings, twilio_stand_in):
            shared = replace(
                settings,
                redis_url=TEST_REDIS_URL,
                secret_key=secrets.token_hex(16),  # fresh counter keys for this run
                otp_limit_per_number="1 per 10 minutes",
            )
            first, second = create_app(shared), create_app(shared)
            try:
                for application in (first, second):
                    import_campaigns_text(application, _spring_only())
                address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.1"
                one = PhoneVisitor(first.test_client(), address=address)
                one.scan()
                assert one.enter_number(TYPED).status_code == 200
                other = PhoneVisitor(second.test_client(), address="10.255.255.254")
                other.scan()
                assert other.enter_number(TYPED).status_code == 429
                assert len(twilio_stand_in.messages_to(PHONE)) == 1
            finally:
                first.extensions["selfserve"].close()
                second.extensions["selfserve"].close()


class TestLogs(SqliteOnly):
    def test_no_full_number_or_one_time_code_reaches_the_log(
        self, visitor, twilio_stand_in, caplog
    ):
        with caplog.at_level(logging.DEBUG):
            visitor.scan()
            visitor.enter_number(TYPED)
            code = latest_code(twilio_stand_in)
            visitor.enter_code(wrong_code_for(code))
            visitor.enter_code(code)
        text = "\n".join(
            f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name != "werkzeug"
        )
        assert "otp_sent" in text
        assert "491570156" not in text
        assert code not in text


class MovableClock:
    """A clock for tests: now, until moved."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def spring_with(extra: str, keywords: str = '["SPRING"]') -> str:
    """The spring campaign as the page tests write it, with `extra` lines of TOML."""
    return f"""
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = {keywords}
application_id = 12
campaign_id = 34
{extra}
"""


def _spring_only() -> str:
    return """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING", "BLOOM"]
application_id = 12
campaign_id = 34
identifier = "{customer_id}:{campaign_id}"
recipient = true
reply = "Your Spring code: {code} (valid until {expiry:%d %b})"
"""
