"""Referrals by text: REFER gives the advocate one remembered code; a friend texting it gets
the friend campaign's coupon with the code as an attribute, and the advocate their points."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from selfserve.models import OutboundMessage, ReferralCode, ReferralUse
from tests.conftest import (
    import_campaigns_text,
    inbound_form,
    reply_text,
    send_text,
    signature_for,
    wait_for,
)
from tests.stand_ins.talon import COUPON_PATH

ADVOCATE = "+61491570156"
FRIEND = "+61491570157"
OTHER_FRIEND = "+61491570158"
POINTS_PATH = "/customer_engagement/add_loyalty_points"
WEBHOOK = "/webhooks/twilio/sms"

CAMPAIGNS = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING"]
application_id = 12
campaign_id = 34
offer = "20% off"
reply = "Your Spring code: {code}"

[[campaign]]
slug = "refer"
name = "Refer a friend"
keywords = ["REFER"]
action = "referral"
campaign_id = 88
friend_campaign = "spring"
advocate_points = 50
loyalty_program_id = 7
usage_limit = 2
valid_days = 30
reply = "Your code {code}. {share_text}"
"""


@pytest.fixture
def referral_app(app):
    import_campaigns_text(app, CAMPAIGNS)
    return app


def advocate_code(client, talon_stand_in) -> str:
    reply = reply_text(send_text(client, "REFER", ADVOCATE))
    (code,) = talon_stand_in.referrals
    assert code in reply
    return code


def friend_coupon_calls(talon_stand_in):
    return [r for r in talon_stand_in.requests if r.path == COUPON_PATH]


class TestAdvocate:
    def test_refer_twice_asks_talon_once_and_gives_the_same_code(
        self, referral_app, client, talon_stand_in
    ):
        first = reply_text(send_text(client, "REFER", ADVOCATE))
        second = reply_text(send_text(client, "refer", ADVOCATE))
        assert len(talon_stand_in.referral_requests()) == 1
        (code,) = talon_stand_in.referrals
        assert first == second
        assert f"Text {code} to 0" in first
        assert "for 20% off" in first
        request = talon_stand_in.referral_requests()[0]
        assert request.args["campaignId"] == "88"
        assert request.args["advocateProfileIntegrationId"].startswith("ss-")
        assert request.args["usageLimit"] == "2"
        assert "expiryDate" in request.args


class TestFriend:
    def test_a_friend_typing_the_code_loosely_gets_the_friend_coupon_with_the_attribute(
        self, referral_app, client, talon_stand_in
    ):
        code = advocate_code(client, talon_stand_in)
        typed = code.lower().replace("-", " ")
        reply = reply_text(send_text(client, typed, FRIEND))
        (coupon_call,) = friend_coupon_calls(talon_stand_in)
        assert coupon_call.args["campaignId"] == "34"
        assert coupon_call.args[".referralCode"] == code
        (coupon,) = talon_stand_in.coupons.values()
        assert coupon["Attributes"] == {"referralCode": code}
        assert coupon["Value"] in reply
        advocate_id = talon_stand_in.referrals[code]["advocateProfileIntegrationId"]
        assert talon_stand_in.points[(7, advocate_id)] == 50

    def test_own_code_second_use_and_made_up_codes_get_no_coupon(
        self, referral_app, client, talon_stand_in
    ):
        code = advocate_code(client, talon_stand_in)
        own = reply_text(send_text(client, code, ADVOCATE))
        assert "own code" in own
        send_text(client, code, FRIEND)
        again = reply_text(send_text(client, code, FRIEND))
        assert "already" in again
        unknown = reply_text(send_text(client, "ZZZZ-9999", OTHER_FRIEND))
        plain_unknown = reply_text(send_text(client, "NONSENSE", OTHER_FRIEND))
        assert unknown == plain_unknown
        assert len(friend_coupon_calls(talon_stand_in)) == 1
        assert len([r for r in talon_stand_in.requests if r.path == POINTS_PATH]) == 1

    def test_a_code_used_usage_limit_times_is_refused(self, referral_app, client, talon_stand_in):
        code = advocate_code(client, talon_stand_in)
        send_text(client, code, FRIEND)
        send_text(client, code, OTHER_FRIEND)
        third = reply_text(send_text(client, code, "+61491570159"))
        assert "as many friends" in third
        assert len(friend_coupon_calls(talon_stand_in)) == 2


class TestMyCodes:
    def test_mycodes_lists_the_codes_newest_first(self, referral_app, client, talon_stand_in):
        spring = reply_text(send_text(client, "SPRING", ADVOCATE)).split(": ")[1]
        code = advocate_code(client, talon_stand_in)
        reply = reply_text(send_text(client, "mycodes", ADVOCATE))
        assert reply.index(code) < reply.index(spring)
        assert "Refer a friend" in reply
        assert "Spring 20% off" in reply

    def test_nothing_held_names_an_active_keyword(self, referral_app, client):
        reply = reply_text(send_text(client, "MYCODES", FRIEND))
        assert reply.startswith("You have no codes yet. Text ")
        named = reply.split("Text ")[1].split(" ")[0]
        keywords = referral_app.extensions["selfserve"].campaigns.active_keywords()
        assert named in keywords


def test_campaigns_import_refuses_mycodes_and_forget_as_keywords(runner, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(CAMPAIGNS.replace('["REFER"]', '["MYCODES", "FORGET"]'))
    result = runner.invoke(args=["campaigns", "import", str(path)])
    assert result.exit_code == 1
    assert "MYCODES is reserved" in result.output
    assert "FORGET is reserved" in result.output


def test_the_make_run_sandbox_serves_refer_and_a_friend_from_the_demo_file(settings):
    from dataclasses import replace

    from app import create_app

    talon_sandbox = replace(  # the built-in Talon.One sandbox; Twilio's test token signs
        settings,
        talon_api_key="",
        talon_deployment_host="",
        talon_cep_url="https://integration.talon.one",
    ).completed()
    application = create_app(talon_sandbox)
    try:
        runner = application.test_cli_runner()
        imported = runner.invoke(args=["campaigns", "import", "demo/campaigns.toml"])
        assert imported.exit_code == 0, imported.output
        client = application.test_client()
        reply = reply_text(send_text(client, "REFER", ADVOCATE))
        code = reply.split("code: ")[1].split(".")[0]
        assert reply_text(send_text(client, "REFER", ADVOCATE)) == reply
        friend = reply_text(send_text(client, code.lower(), FRIEND))
        assert friend.startswith("Your Spring code: SBX-")
    finally:
        application.extensions["selfserve"].close()


def test_a_french_campaigns_refusals_are_in_french(app, client, talon_stand_in):
    french = CAMPAIGNS.replace(
        'name = "Refer a friend"', 'name = "Refer a friend"\nlanguage = "fr"'
    )
    import_campaigns_text(
        app, french.replace('offer = "20% off"', 'offer = "20% off"\nlanguage = "fr"')
    )
    code = advocate_code(client, talon_stand_in)
    own = reply_text(send_text(client, code, ADVOCATE))
    assert own == "C'est votre propre code : partagez-le plutôt avec un ami."


class TestFriendJoinedText:
    """The advocate's "Your friend joined, +50 points": through the outbox, with consent only."""

    @pytest.fixture
    def settings(self, settings):
        return replace(settings, quiet_hours="off")

    def consent(self, runner, tmp_path, sms_consent: str) -> None:
        directory = tmp_path / "customers.csv"
        directory.write_text(
            f"phone,customer_id,first_name,sms_consent\n{ADVOCATE},C-ADV,Ada,{sms_consent}\n"
        )
        result = runner.invoke(args=["customers", "import", str(directory)])
        assert "1 imported" in result.output, result.output

    def joined_texts(self, twilio_stand_in) -> list[str]:
        return [m.body for m in twilio_stand_in.messages if m.to == ADVOCATE]

    def test_a_consenting_advocate_gets_exactly_one_text(
        self, referral_app, client, runner, tmp_path, talon_stand_in, twilio_stand_in, worker
    ):
        self.consent(runner, tmp_path, "yes")
        code = advocate_code(client, talon_stand_in)
        send_text(client, code, FRIEND)
        send_text(client, code, FRIEND)  # a second use by the same friend: refused, no text
        (body,) = wait_for(lambda: self.joined_texts(twilio_stand_in), what="the advocate's text")
        assert body.startswith("Your friend joined, +50 points")
        worker.stop()
        assert self.joined_texts(twilio_stand_in) == [body]

    def test_the_campaign_words_the_text(
        self, app, client, runner, tmp_path, talon_stand_in, twilio_stand_in, worker
    ):
        import_campaigns_text(
            app,
            CAMPAIGNS.replace(
                "valid_days = 30",
                'valid_days = 30\nfriend_joined_reply = "{name}: +{points} for you!"',
            ),
        )
        self.consent(runner, tmp_path, "yes")
        send_text(client, advocate_code(client, talon_stand_in), FRIEND)
        texts = wait_for(lambda: self.joined_texts(twilio_stand_in), what="the advocate's text")
        assert texts == ["Refer a friend: +50 for you!"]

    def test_an_advocate_without_consent_gets_none(
        self, referral_app, client, runner, tmp_path, talon_stand_in, twilio_stand_in, worker
    ):
        self.consent(runner, tmp_path, "")
        code = advocate_code(client, talon_stand_in)
        assert reply_text(send_text(client, code, FRIEND))
        worker.stop()
        assert self.joined_texts(twilio_stand_in) == []
        with referral_app.extensions["selfserve"].sessions() as db:
            assert db.scalar(select(func.count()).select_from(OutboundMessage)) == 0


class TestFriendJoinedInQuietHours:
    @pytest.fixture
    def settings(self, settings):
        return replace(settings, quiet_hours="00:00-23:59")  # always quiet, bar a minute

    def test_the_text_waits_for_quiet_hours_to_end(
        self, referral_app, client, runner, tmp_path, talon_stand_in, twilio_stand_in
    ):
        TestFriendJoinedText.consent(None, runner, tmp_path, "yes")
        send_text(client, advocate_code(client, talon_stand_in), FRIEND)
        with referral_app.extensions["selfserve"].sessions() as db:
            row = db.execute(
                select(OutboundMessage.status, OutboundMessage.next_attempt_at).where(
                    OutboundMessage.purpose == "referral_joined"
                )
            ).one()
        assert row.status == "waiting"
        held = row.next_attempt_at.replace(tzinfo=row.next_attempt_at.tzinfo or UTC)
        assert held > datetime.now(UTC)
        assert [m for m in twilio_stand_in.messages if m.to == ADVOCATE] == []


class TestUsageLimitUnderRace:
    def test_friends_texting_at_once_never_pass_the_usage_limit(
        self, referral_app, client, live_app, talon_stand_in
    ):
        """usage_limit = 2 and six friends at once, while Talon.One is slow enough that all
        of them are checked before any coupon is stored: two coupons, four polite refusals."""
        code = advocate_code(client, talon_stand_in)
        talon_stand_in.delay_seconds = 0.3
        barrier = threading.Barrier(6)
        replies: list[str] = []

        def text_in(sender: str) -> None:
            form = inbound_form(code, sender=sender)
            headers = {"X-Twilio-Signature": signature_for(WEBHOOK, form)}
            barrier.wait(timeout=10)
            answer = httpx.post(live_app.url + WEBHOOK, data=form, headers=headers, timeout=30)
            replies.append(answer.text)

        senders = [f"+614915702{n:02d}" for n in range(6)]
        threads = [threading.Thread(target=text_in, args=(s,)) for s in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(replies) == 6
        assert len(friend_coupon_calls(talon_stand_in)) == 2
        assert len(talon_stand_in.coupons) == 2
        assert sum("as many friends" in reply for reply in replies) == 4
        with referral_app.extensions["selfserve"].sessions() as db:
            assert db.scalar(select(func.count()).select_from(ReferralUse)) == 2
            assert db.scalar(select(ReferralCode.uses)) == 2

    def test_a_failed_coupon_gives_the_place_back(self, referral_app, client, talon_stand_in):
        code = advocate_code(client, talon_stand_in)
        # Refused outright (a 503 would owe the coupon, and keep the place: TestOwed).
        talon_stand_in.answer_next(400, {"message": "bad request"})
        reply_text(send_text(client, code, FRIEND))  # no coupon: Talon.One refused it
        with referral_app.extensions["selfserve"].sessions() as db:
            assert db.scalar(select(ReferralCode.uses)) == 0
        send_text(client, code, OTHER_FRIEND)
        send_text(client, code, FRIEND)  # the retry gets the second place
        assert len(talon_stand_in.coupons) == 2
