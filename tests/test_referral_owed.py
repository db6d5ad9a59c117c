"""Referrals while Talon.One is busy: owed and texted later by the worker, exactly once.

REFER and a friend's referral code follow the coupons' deferral rules: when Talon.One answers
503 or 429, times out, or our budget has no room, the customer is told "we'll text your code",
the code is owed (one `deferred_codes` row), and the worker's job fetches it and hands exactly
one text to the outbox. Through the signed webhook, the /r/ page and the Talon.One and Twilio
stand-ins; the worker's job is run as the queue runs it (`DeferredCodes.deliver`).
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from sqlalchemy import select

from selfserve.models import (
    DeferredCode,
    InboundMessage,
    OutboundMessage,
    ReferralCode,
    ReferralUse,
)
from tests.conftest import import_campaigns_text, reply_text, send_text, wait_for
from tests.phone_visitor import PhoneVisitor
from tests.test_referral_pages import FRIEND_TYPED, prove, shown_code
from tests.test_referrals import (
    ADVOCATE,
    CAMPAIGNS,
    FRIEND,
    OTHER_FRIEND,
    POINTS_PATH,
    advocate_code,
    friend_coupon_calls,
)

DEFERRED_REPLY = "You're in! We'll text your code in a few minutes."
BUSY = {
    "503": (503, {"message": "Service Unavailable"}, {}),
    "429": (429, {"message": "Too Many Requests"}, {"Retry-After": "1"}),
}


@pytest.fixture
def settings(settings):
    return replace(settings, quiet_hours="off")


@pytest.fixture
def referral_app(app):
    import_campaigns_text(app, CAMPAIGNS)
    return app


def rows(app, model):
    with app.extensions["selfserve"].sessions() as db:
        return db.scalars(select(model).order_by(model.id)).all()


def run_owed_jobs(app) -> None:
    """The worker's job for every owed code, as the queue runs it: again after the wait a
    Retry asks for (Talon.One's Retry-After holds every process's calls), until it is done."""
    deferred = app.extensions["selfserve"].deferred_codes
    for owed in rows(app, DeferredCode):
        retry = deferred.deliver(owed.id, owed.attempts)
        for _ in range(5):
            if retry is None:
                break
            time.sleep(min(retry.delay_seconds, 2.0))
            retry = deferred.deliver(owed.id, retry.attempt)


def texts_to(twilio_stand_in, phone: str) -> list[str]:
    return [m.body for m in twilio_stand_in.messages_to(phone)]


def consenting_advocate(runner, tmp_path) -> None:
    directory = tmp_path / "customers.csv"
    directory.write_text(f"phone,customer_id,first_name,sms_consent\n{ADVOCATE},C-ADV,Ada,yes\n")
    assert "1 imported" in runner.invoke(args=["customers", "import", str(directory)]).output


class TestReferOwed:
    @pytest.mark.parametrize("busy", sorted(BUSY))
    def test_refer_while_talon_is_busy_is_owed_and_texted_once_by_the_worker(
        self, busy, referral_app, client, talon_stand_in, twilio_stand_in
    ):
        talon_stand_in.answer_next(*BUSY[busy])
        assert reply_text(send_text(client, "REFER", ADVOCATE)) == DEFERRED_REPLY
        # Texted again while owed: the same answer, no second owed row, Talon.One not asked.
        assert reply_text(send_text(client, "refer", ADVOCATE)) == DEFERRED_REPLY
        assert len(talon_stand_in.referral_requests()) == 1  # the busy answer only
        (owed,) = rows(referral_app, DeferredCode)
        assert (owed.kind, owed.state, owed.campaign_slug) == ("referral_code", "pending", "refer")
        assert talon_stand_in.referrals == {}

        run_owed_jobs(referral_app)
        run_owed_jobs(referral_app)  # a stale or repeated job: nothing more
        assert len(talon_stand_in.referral_requests()) == 2  # the busy one, the worker's one
        (code,) = talon_stand_in.referrals
        (text,) = texts_to(twilio_stand_in, ADVOCATE)
        assert text.startswith(f"Your code {code}. Text {code} to 0480 000 000 for 20% off")
        assert [m.outcome for m in rows(referral_app, InboundMessage)] == ["code_sent_by_sms"] * 2
        # Remembered: REFER now answers from the database.
        assert code in reply_text(send_text(client, "REFER", ADVOCATE))
        assert len(talon_stand_in.referral_requests()) == 2
        assert len(texts_to(twilio_stand_in, ADVOCATE)) == 1

    def test_a_spent_budget_owes_the_code_without_asking_talon(
        self, referral_app, client, talon_stand_in
    ):
        budget = referral_app.extensions["selfserve"].budget
        while budget.try_spend():
            pass
        assert reply_text(send_text(client, "REFER", ADVOCATE)) == DEFERRED_REPLY
        assert talon_stand_in.referral_requests() == []
        (owed,) = rows(referral_app, DeferredCode)
        assert owed.kind == "referral_code"

    def test_the_running_worker_texts_the_code_once_talon_answers(
        self, referral_app, client, talon_stand_in, twilio_stand_in, worker
    ):
        talon_stand_in.answer_next(*BUSY["503"])
        assert reply_text(send_text(client, "REFER", ADVOCATE)) == DEFERRED_REPLY
        (text,) = wait_for(lambda: texts_to(twilio_stand_in, ADVOCATE), what="the owed code")
        worker.stop()
        (code,) = talon_stand_in.referrals
        assert code in text
        assert len(texts_to(twilio_stand_in, ADVOCATE)) == 1
        assert rows(referral_app, ReferralCode)[0].code == code

    def test_a_rejection_is_not_owed(self, referral_app, client, talon_stand_in):
        talon_stand_in.answer_next(404, {"message": "campaign not found"})
        assert "can't do that right now" in reply_text(send_text(client, "REFER", ADVOCATE))
        assert rows(referral_app, DeferredCode) == []


class TestFriendCouponOwed:
    def test_a_friends_coupon_is_owed_then_created_with_the_referral_and_thanked_once(
        self, referral_app, client, runner, tmp_path, talon_stand_in, twilio_stand_in
    ):
        consenting_advocate(runner, tmp_path)
        code = advocate_code(client, talon_stand_in)
        talon_stand_in.answer_next(*BUSY["503"])
        assert reply_text(send_text(client, code.lower(), FRIEND)) == DEFERRED_REPLY
        assert reply_text(send_text(client, code, FRIEND)) == DEFERRED_REPLY  # asked again
        (owed,) = rows(referral_app, DeferredCode)
        assert (owed.kind, owed.campaign_slug) == ("referral_coupon", "spring")
        (use,) = rows(referral_app, ReferralUse)  # the friend's place is kept while owed
        assert use.points_state == "none"
        assert [r for r in talon_stand_in.requests if r.path == POINTS_PATH] == []

        run_owed_jobs(referral_app)
        run_owed_jobs(referral_app)
        busy_call, call = friend_coupon_calls(talon_stand_in)  # the 503, then the worker's
        assert busy_call.args[".referralCode"] == call.args[".referralCode"] == code
        (coupon,) = talon_stand_in.coupons.values()
        (text,) = texts_to(twilio_stand_in, FRIEND)
        assert coupon["Value"] in text
        advocate_id = talon_stand_in.referrals[code]["advocateProfileIntegrationId"]
        assert talon_stand_in.points[(7, advocate_id)] == 50
        assert len([r for r in talon_stand_in.requests if r.path == POINTS_PATH]) == 1
        (use,) = rows(referral_app, ReferralUse)
        assert use.points_state == "awarded"
        joined = [m for m in rows(referral_app, OutboundMessage) if m.purpose == "referral_joined"]
        assert len(joined) == 1
        # Used: the same friend again is refused; the place counted once.
        assert "already" in reply_text(send_text(client, code, FRIEND))
        assert rows(referral_app, ReferralCode)[0].uses == 1

    def test_an_owed_coupon_that_talon_then_refuses_gives_the_place_back(
        self, referral_app, client, talon_stand_in, twilio_stand_in
    ):
        code = advocate_code(client, talon_stand_in)
        talon_stand_in.answer_next(*BUSY["503"])
        assert reply_text(send_text(client, code, FRIEND)) == DEFERRED_REPLY
        assert rows(referral_app, ReferralCode)[0].uses == 1
        talon_stand_in.answer_next(400, {"message": "bad attribute"})
        run_owed_jobs(referral_app)
        assert rows(referral_app, DeferredCode)[0].state == "failed"
        assert rows(referral_app, ReferralCode)[0].uses == 0
        assert rows(referral_app, ReferralUse) == []
        assert texts_to(twilio_stand_in, FRIEND) == []
        assert [r for r in talon_stand_in.requests if r.path == POINTS_PATH] == []

    def test_the_friend_holding_the_last_place_is_not_told_it_is_used_up(
        self, referral_app, client, talon_stand_in
    ):
        code = advocate_code(client, talon_stand_in)
        send_text(client, code, OTHER_FRIEND)  # usage_limit = 2: one place left
        talon_stand_in.answer_next(*BUSY["503"])
        assert reply_text(send_text(client, code, FRIEND)) == DEFERRED_REPLY  # the last place
        assert reply_text(send_text(client, code, FRIEND)) == DEFERRED_REPLY
        assert "as many friends" in reply_text(send_text(client, code, "+61491570159"))

    def test_on_the_page_too(self, referral_app, client, talon_stand_in, twilio_stand_in):
        code = advocate_code(client, talon_stand_in)
        talon_stand_in.down = True
        visitor = PhoneVisitor(client)
        prove(visitor, twilio_stand_in, f"/r/{code}", FRIEND_TYPED, FRIEND)
        assert "text your code" in visitor.text.lower()
        assert shown_code(visitor.page) is None
        (owed,) = rows(referral_app, DeferredCode)
        assert (owed.kind, owed.campaign_slug) == ("referral_coupon", "spring")
        web = rows(referral_app, InboundMessage)[-1]
        assert (web.channel, web.outcome) == ("web", "deferred")
        talon_stand_in.down = False
        run_owed_jobs(referral_app)
        call = friend_coupon_calls(talon_stand_in)[-1]
        assert call.args[".referralCode"] == code
        (coupon,) = talon_stand_in.coupons.values()
        assert coupon["Value"] in texts_to(twilio_stand_in, FRIEND)[-1]
        assert rows(referral_app, ReferralUse)[0].points_state == "awarded"
