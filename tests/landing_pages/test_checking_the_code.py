"""Checking the one-time code: the coupon on the page, its code page and barcode, wrong codes."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import timedelta

import cairosvg
import pytest

from selfserve.customers import pseudonym
from selfserve.models import (
    Customer,
    DeferredCode,
    InboundMessage,
    IssuedCoupon,
    PhoneVerification,
)
from selfserve.queue import WorkerThreads
from tests.conftest import (
    reply_text,
    send_text,
    wait_for,
)
from tests.landing_pages.conftest import (
    E164,
    PHONE,
    TYPED,
    MovableClock,
    error_text,
    latest_code,
    rows,
    shown_code,
    wrong_code_for,
)
from tests.phone_visitor import (
    PhoneVisitor,
    code_form,
    number_form,
)
from tests.test_code_pages import decoded


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
