"""A referred friend's owed coupon stays the referral's, whichever way the friend asks again.

While a friend's referral coupon is owed (Talon.One was busy when they used the code), the
friend may text the friend campaign's plain keyword, open its /q/ page, or re-submit the /r/
page's code form. None of these may hand over a plain coupon (without `.referralCode`) or
settle the owed row: the coupon the friend gets is created with the referral code, once, and
the advocate gets their points and "your friend joined" text, once.

Through the signed webhook, the landing pages and the Talon.One and Twilio stand-ins; the
worker's job is run as the queue runs it. Talon.One's inline pause after a failure is off here,
so the plain keyword really reaches Talon.One once it is back (the pause would hide the bug).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from selfserve.models import DeferredCode, OutboundMessage, ReferralUse
from tests.conftest import import_campaigns_text, reply_text, send_text
from tests.phone_visitor import PhoneVisitor, code_form, one_time_code
from tests.test_referral_owed import (
    BUSY,
    DEFERRED_REPLY,
    consenting_advocate,
    rows,
    run_owed_jobs,
    texts_to,
)
from tests.test_referral_pages import FRIEND_TYPED, prove, shown_code
from tests.test_referrals import (
    ADVOCATE,
    CAMPAIGNS,
    FRIEND,
    POINTS_PATH,
    advocate_code,
    friend_coupon_calls,
)


@pytest.fixture
def settings(settings):
    return replace(settings, quiet_hours="off", talon_inline_pause_seconds=0.0)


@pytest.fixture
def referral_app(app):
    import_campaigns_text(app, CAMPAIGNS)
    return app


@pytest.fixture
def code(referral_app, client, runner, tmp_path, talon_stand_in) -> str:
    consenting_advocate(runner, tmp_path)
    return advocate_code(client, talon_stand_in)


def owe_by_text(referral_app, client, talon_stand_in, code: str) -> DeferredCode:
    """The friend texts the referral code while Talon.One answers 503: the coupon is owed."""
    talon_stand_in.answer_next(*BUSY["503"])
    assert reply_text(send_text(client, code.lower(), FRIEND)) == DEFERRED_REPLY
    (owed,) = rows(referral_app, DeferredCode)
    assert (owed.kind, owed.state) == ("referral_coupon", "pending")
    return owed


def assert_delivered_once_with_the_referral(referral_app, talon_stand_in, code):
    """Every coupon call carries the referral; one coupon, texted once; the advocate thanked
    once (their points and one "friend joined" text)."""
    calls = friend_coupon_calls(talon_stand_in)
    assert calls
    assert all(call.args.get(".referralCode") == code for call in calls)
    (coupon,) = talon_stand_in.coupons.values()
    advocate_id = talon_stand_in.referrals[code]["advocateProfileIntegrationId"]
    assert talon_stand_in.points[(7, advocate_id)] == 50
    assert len([r for r in talon_stand_in.requests if r.path == POINTS_PATH]) == 1
    (use,) = rows(referral_app, ReferralUse)
    assert use.points_state == "awarded"
    joined = [m for m in rows(referral_app, OutboundMessage) if m.purpose == "referral_joined"]
    assert len(joined) == 1
    return coupon


class TestPlainKeywordWhileOwed:
    @pytest.mark.parametrize("typed", ["SPRING", "spring", "SPRNG"])
    def test_texting_the_friend_campaigns_keyword_leaves_the_owed_coupon_to_the_worker(
        self, typed, code, referral_app, client, talon_stand_in, twilio_stand_in
    ):
        owe_by_text(referral_app, client, talon_stand_in, code)
        calls_before = len(friend_coupon_calls(talon_stand_in))

        assert reply_text(send_text(client, typed, FRIEND)) == DEFERRED_REPLY
        assert len(friend_coupon_calls(talon_stand_in)) == calls_before  # Talon.One not asked
        (owed,) = rows(referral_app, DeferredCode)
        assert (owed.kind, owed.state) == ("referral_coupon", "pending")

        run_owed_jobs(referral_app)
        run_owed_jobs(referral_app)
        coupon = assert_delivered_once_with_the_referral(referral_app, talon_stand_in, code)
        (text,) = texts_to(twilio_stand_in, FRIEND)
        assert coupon["Value"] in text
        # Delivered: SPRING now answers with that very code, and nothing more is owed.
        assert coupon["Value"] in reply_text(send_text(client, "SPRING", FRIEND))
        assert len(talon_stand_in.coupons) == 1

    def test_opening_the_friend_campaigns_page_leaves_the_owed_coupon_to_the_worker(
        self, code, referral_app, client, talon_stand_in, twilio_stand_in
    ):
        owe_by_text(referral_app, client, talon_stand_in, code)
        calls_before = len(friend_coupon_calls(talon_stand_in))

        visitor = PhoneVisitor(client)
        assert prove(visitor, twilio_stand_in, "/q/spring", FRIEND_TYPED, FRIEND).status_code == 202
        assert "text your code" in visitor.text.lower()
        assert shown_code(visitor.page) is None
        assert len(friend_coupon_calls(talon_stand_in)) == calls_before
        (owed,) = rows(referral_app, DeferredCode)
        assert (owed.kind, owed.state) == ("referral_coupon", "pending")

        run_owed_jobs(referral_app)
        coupon = assert_delivered_once_with_the_referral(referral_app, talon_stand_in, code)
        assert coupon["Value"] in texts_to(twilio_stand_in, FRIEND)[-1]

    def test_the_keyword_while_the_worker_has_stored_the_coupon_but_not_texted_it(
        self, code, referral_app, client, talon_stand_in, twilio_stand_in
    ):
        """The worker's job stores the friend's coupon, then hands its text to the outbox
        and thanks the advocate: the keyword in between must not settle the owed row."""
        owed = owe_by_text(referral_app, client, talon_stand_in, code)
        services = referral_app.extensions["selfserve"]
        spring = services.campaigns.by_slug("spring")
        services.worker_coupons.issue(  # the worker's first step, as its job takes it
            spring, owed.customer_id, owed.identifier, attributes=(("referralCode", code),)
        )
        (stored,) = talon_stand_in.coupons.values()

        assert reply_text(send_text(client, "SPRING", FRIEND)) == DEFERRED_REPLY
        assert rows(referral_app, DeferredCode)[0].state == "pending"

        run_owed_jobs(referral_app)
        assert_delivered_once_with_the_referral(referral_app, talon_stand_in, code)
        (text,) = texts_to(twilio_stand_in, FRIEND)
        assert stored["Value"] in text


class TestReferralPageResubmitted:
    def test_a_resubmitted_code_form_after_an_owed_coupon_redeems_the_referral(
        self, code, referral_app, client, talon_stand_in, twilio_stand_in
    ):
        visitor = PhoneVisitor(client)
        assert visitor.get(f"/r/{code}").status_code == 200
        assert visitor.enter_number(FRIEND_TYPED).status_code == 200
        form = code_form(visitor.page)  # kept, as a browser's history keeps the page
        typed = one_time_code(twilio_stand_in.messages_to(FRIEND)[-1].body)
        talon_stand_in.down = True
        assert visitor.submit(form, form.data(code=typed)).status_code == 202
        assert "text your code" in visitor.text.lower()
        talon_stand_in.down = False

        # Back, and the same form again (or a reload that re-posts it), Talon.One answering.
        assert visitor.submit(form, form.data(code=typed)).status_code == 200
        coupon = assert_delivered_once_with_the_referral(referral_app, talon_stand_in, code)
        assert shown_code(visitor.page) == coupon["Value"]
        (owed,) = rows(referral_app, DeferredCode)
        assert owed.state == "answered_inline"  # shown here: the worker texts nothing
        run_owed_jobs(referral_app)
        assert [t for t in texts_to(twilio_stand_in, FRIEND) if coupon["Value"] in t] == []

    def test_a_resubmitted_code_form_keeps_the_referral_refusals(
        self, code, referral_app, client, talon_stand_in, twilio_stand_in
    ):
        visitor = PhoneVisitor(client)
        assert visitor.get(f"/r/{code}").status_code == 200
        assert visitor.enter_number("0491 570 156").status_code == 200  # the advocate
        form = code_form(visitor.page)
        typed = one_time_code(twilio_stand_in.messages_to(ADVOCATE)[-1].body)
        assert visitor.submit(form, form.data(code=typed)).status_code == 409
        assert visitor.submit(form, form.data(code=typed)).status_code == 409
        assert "own code" in visitor.text
        assert shown_code(visitor.page) is None
        assert friend_coupon_calls(talon_stand_in) == []
