"""`/r/<code>`: a referral code's landing page, through the Flask test client and stand-ins.

The visitor proves their number with the one-time code the Twilio stand-in received, then
gets the friend campaign's coupon created with `.referralCode`, as a friend texting the code.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from selfserve.models import InboundMessage, ReferralUse
from tests.conftest import import_campaigns_text, reply_text, send_text
from tests.landing_pages.conftest import error_text, wrong_code_for
from tests.phone_visitor import PhoneVisitor, one_time_code
from tests.stand_ins.talon import COUPON_PATH
from tests.test_referrals import ADVOCATE, CAMPAIGNS, FRIEND, OTHER_FRIEND, POINTS_PATH

FRIEND_TYPED = "0491 570 157"  # FRIEND, as typed


@pytest.fixture
def referral_app(app):
    import_campaigns_text(app, CAMPAIGNS)
    return app


@pytest.fixture
def code(referral_app, client, talon_stand_in) -> str:
    send_text(client, "REFER", ADVOCATE)
    (referral_code,) = talon_stand_in.referrals
    return referral_code


def coupon_calls(talon_stand_in):
    return [r for r in talon_stand_in.requests if r.path == COUPON_PATH]


def prove(visitor: PhoneVisitor, twilio_stand_in, url: str, typed: str, phone: str):
    assert visitor.get(url).status_code == 200
    assert visitor.enter_number(typed).status_code == 200
    return visitor.enter_code(one_time_code(twilio_stand_in.messages_to(phone)[-1].body))


def shown_code(html: str) -> str | None:
    match = re.search(r'id="coupon-code"[^>]*>([^<]+)<', html)
    return match.group(1).strip() if match else None


def test_a_friend_proves_their_number_and_gets_the_coupon_with_the_referral_attribute(
    code, client, talon_stand_in, twilio_stand_in
):
    visitor = PhoneVisitor(client)
    opened = visitor.get(f"/r/{code}")
    assert "Spring 20% off" in visitor.text
    assert f"Text {code} to 0480 000 000 instead" in visitor.text
    assert "'unsafe-inline'" not in opened.headers["Content-Security-Policy"]
    assert opened.headers["X-Content-Type-Options"] == "nosniff"
    assert f'action="/r/{code}"' in visitor.page
    response = prove(visitor, twilio_stand_in, f"/r/{code}", FRIEND_TYPED, FRIEND)
    assert response.status_code == 200
    (call,) = coupon_calls(talon_stand_in)
    assert call.args["campaignId"] == "34"
    assert call.args[".referralCode"] == code
    (coupon,) = talon_stand_in.coupons.values()
    assert shown_code(visitor.page) == coupon["Value"]
    advocate_id = talon_stand_in.referrals[code]["advocateProfileIntegrationId"]
    assert talon_stand_in.points[(7, advocate_id)] == 50
    # The same friend texting the code afterwards: refused, as a second use by text is.
    assert "already" in reply_text(send_text(client, code, FRIEND))
    assert len(coupon_calls(talon_stand_in)) == 1


def test_a_wrong_one_time_code_is_refused_and_then_the_right_one_works(
    code, referral_app, client, talon_stand_in, twilio_stand_in
):
    visitor = PhoneVisitor(client)
    assert visitor.get(f"/r/{code}").status_code == 200
    assert visitor.enter_number(FRIEND_TYPED).status_code == 200
    (sent,) = twilio_stand_in.messages_to(FRIEND)
    right = one_time_code(sent.body)
    refused = visitor.enter_code(wrong_code_for(right))
    assert refused.status_code == 422
    assert error_text(visitor.page) == "That code didn't match. You have 4 more tries."
    assert shown_code(visitor.page) is None
    assert coupon_calls(talon_stand_in) == []
    assert talon_stand_in.referrals[code]  # still only the advocate's REFER
    assert [r for r in talon_stand_in.requests if r.path == POINTS_PATH] == []
    with referral_app.extensions["selfserve"].sessions() as db:
        assert db.scalar(select(func.count()).select_from(ReferralUse)) == 0

    assert visitor.enter_code(right).status_code == 200
    (call,) = coupon_calls(talon_stand_in)
    assert call.args[".referralCode"] == code
    (coupon,) = talon_stand_in.coupons.values()
    assert shown_code(visitor.page) == coupon["Value"]


def test_the_code_typed_loosely_in_the_url_works_too(code, client, talon_stand_in, twilio_stand_in):
    visitor = PhoneVisitor(client)
    prove(visitor, twilio_stand_in, f"/r/{code.lower().replace('-', '')}", FRIEND_TYPED, FRIEND)
    (call,) = coupon_calls(talon_stand_in)
    assert call.args[".referralCode"] == code


def test_the_advocate_on_their_own_code_gets_a_polite_refusal_and_no_coupon(
    code, client, talon_stand_in, twilio_stand_in
):
    visitor = PhoneVisitor(client)
    response = prove(visitor, twilio_stand_in, f"/r/{code}", "0491 570 156", ADVOCATE)
    assert response.status_code == 409
    assert "own code" in visitor.text
    assert shown_code(visitor.page) is None
    assert coupon_calls(talon_stand_in) == []


def test_a_code_used_up_is_refused_on_the_page(code, client, talon_stand_in, twilio_stand_in):
    send_text(client, code, OTHER_FRIEND)
    send_text(client, code, "+61491570159")  # usage_limit = 2: now used up
    visitor = PhoneVisitor(client)
    response = prove(visitor, twilio_stand_in, f"/r/{code}", FRIEND_TYPED, FRIEND)
    assert response.status_code == 409
    assert "as many friends" in visitor.text
    assert len(coupon_calls(talon_stand_in)) == 2
    assert len([r for r in talon_stand_in.requests if r.path == POINTS_PATH]) == 2


def test_unknown_codes_get_the_unknown_campaign_page(referral_app, client):
    visitor = PhoneVisitor(client)
    unknown_campaign = visitor.get("/q/no-such-campaign")
    campaign_text = visitor.text
    for made_up in ["ZZZZ-9999", "SPRING", "a" * 300, "%3Cscript%3E"]:
        response = visitor.get(f"/r/{made_up}")
        assert response.status_code == unknown_campaign.status_code == 404, made_up
        assert visitor.text == campaign_text
    assert client.post("/r/ZZZZ-9999", data={"phone": FRIEND_TYPED}).status_code in (400, 404)


def test_an_expired_code_gets_the_unknown_campaign_page(code, referral_app, client):
    from sqlalchemy import update

    from selfserve.models import ReferralCode, utcnow

    with referral_app.extensions["selfserve"].sessions.begin() as db:
        db.execute(update(ReferralCode).values(expires_at=utcnow().replace(year=2020)))
    visitor = PhoneVisitor(client)
    assert visitor.get(f"/r/{code}").status_code == 404
    assert "can't find that offer" in visitor.text


def logged_rows(referral_app):
    with referral_app.extensions["selfserve"].sessions() as db:
        return list(db.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def test_a_claim_on_the_page_is_a_web_row_of_the_message_log_and_the_dashboard_counts_it(
    code, referral_app, client, talon_stand_in, twilio_stand_in
):
    from selfserve.console import dashboard
    from selfserve.models import utcnow

    before = len(logged_rows(referral_app))  # the advocate's REFER
    visitor = PhoneVisitor(client)
    prove(visitor, twilio_stand_in, f"/r/{code}", FRIEND_TYPED, FRIEND)
    (coupon,) = talon_stand_in.coupons.values()
    (web,) = logged_rows(referral_app)[before:]
    assert (web.channel, web.campaign_slug, web.outcome) == ("web", "spring", "code_issued")
    assert web.phone_masked == "+61 4•• ••• •57"
    assert coupon["Value"] in web.reply
    services = referral_app.extensions["selfserve"]
    with services.sessions() as db:
        board = dashboard(db, services.campaigns.all(), utcnow())
    spring = next(row for row in board.campaigns if row.slug == "spring")
    assert spring.activity.codes_issued == 1


def test_a_refusal_on_the_page_is_a_web_row_too(
    code, referral_app, client, talon_stand_in, twilio_stand_in
):
    before = len(logged_rows(referral_app))
    prove(PhoneVisitor(client), twilio_stand_in, f"/r/{code}", "0491 570 156", ADVOCATE)
    (web,) = logged_rows(referral_app)[before:]
    assert (web.channel, web.campaign_slug, web.outcome) == ("web", "refer", "referral_own_code")
    assert web.reply is None


SCREEN_ONLY = """
[[campaign]]
slug = "stadium"
name = "Stadium draw"
keywords = ["GOAL"]
application_id = 12
campaign_id = 38
reply = "Your stadium code: {code}"
fresh_scan_seconds = 60

[[campaign]]
slug = "refer-stadium"
name = "Bring a mate"
keywords = ["MATE"]
action = "referral"
campaign_id = 89
friend_campaign = "stadium"
reply = "Your code {code}. {share_text}"
"""


class TestScreenOnlyFriendCampaign:
    """A friend campaign with `fresh_scan_seconds`: /r/<code> asks for the screen's fresh
    scan exactly as /q/<slug> does."""

    @pytest.fixture
    def stadium_code(self, app, client, talon_stand_in) -> str:
        import_campaigns_text(app, SCREEN_ONLY)
        send_text(client, "MATE", ADVOCATE)
        (referral_code,) = talon_stand_in.referrals
        return referral_code

    @staticmethod
    def screen_token(app, age_seconds: float = 0) -> str:
        import time

        from selfserve.landing import ScreenTokens

        services = app.extensions["selfserve"]
        tokens = ScreenTokens(
            services.writes, services.settings.secret_key, now=lambda: time.time() - age_seconds
        )
        return tokens.token("stadium", 60)

    def test_without_a_fresh_scan_the_page_is_refused_and_nothing_is_sent(
        self, app, stadium_code, client, talon_stand_in, twilio_stand_in
    ):
        old = self.screen_token(app, age_seconds=600)
        for query in ("", f"?t={old}", "?t=forged-token-AAAAAAAA"):
            stranger = PhoneVisitor(app.test_client())
            response = stranger.get(f"/r/{stadium_code}{query}")
            assert response.status_code == 403, query
            assert "scan the code on the screen again" in stranger.text.lower()
            assert "<form" not in stranger.page
            posted = stranger.client.post(f"/r/{stadium_code}", data={"phone": FRIEND_TYPED})
            assert posted.status_code in (400, 403)  # CSRF or the screen: nothing sent
        assert not twilio_stand_in.messages_to(FRIEND)
        assert coupon_calls(talon_stand_in) == []

    def test_a_fresh_scan_opens_the_page_and_the_friend_gets_the_referred_coupon(
        self, app, stadium_code, client, talon_stand_in, twilio_stand_in
    ):
        visitor = PhoneVisitor(client)
        url = f"/r/{stadium_code}?t={self.screen_token(app)}"
        assert prove(visitor, twilio_stand_in, url, FRIEND_TYPED, FRIEND).status_code == 200
        (call,) = coupon_calls(talon_stand_in)
        assert (call.args["campaignId"], call.args[".referralCode"]) == ("38", stadium_code)

    def test_a_browser_that_scanned_the_screen_lately_may_open_the_link_without_a_token(
        self, app, stadium_code, client
    ):
        visitor = PhoneVisitor(client)
        assert visitor.get(f"/q/stadium?t={self.screen_token(app)}").status_code == 200
        assert visitor.get(f"/r/{stadium_code}").status_code == 200
        assert "Stadium draw" in visitor.text

    def test_a_scan_gone_stale_sends_no_code(
        self, app, stadium_code, client, talon_stand_in, twilio_stand_in, monkeypatch
    ):
        import time
        from types import SimpleNamespace

        from handlers.landing import routes

        visitor = PhoneVisitor(client)
        assert visitor.get(f"/r/{stadium_code}?t={self.screen_token(app)}").status_code == 200
        later = time.time() + routes.SCAN_KEEPS_SECONDS + 5
        monkeypatch.setattr(routes, "time", SimpleNamespace(time=lambda: later))
        response = visitor.enter_number(FRIEND_TYPED)
        assert response.status_code == 403
        assert "scan the code on the screen again" in visitor.text.lower()
        assert not twilio_stand_in.messages_to(FRIEND)
