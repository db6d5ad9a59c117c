"""award_points: loyalty points the first time a customer takes part, once, even across retries."""

from __future__ import annotations

import threading
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import select

from app import create_app
from selfserve.journeys import award_points_once
from selfserve.models import DeferredCode, LoyaltyAward
from selfserve.talon import TalonClient
from tests.conftest import (
    import_campaigns_text,
    new_message_sid,
    reply_text,
    send_text,
    wait_for,
)
from tests.phone_visitor import PhoneVisitor, one_time_code
from tests.stand_ins import talon as talon_contract

POINTS_PATH = "/customer_engagement/add_loyalty_points"

CAMPAIGNS = """
[[campaign]]
slug = "join"
name = "Join and save"
keywords = ["JOIN"]
action = "coupon"
application_id = 12
campaign_id = 55
award_points = 25
loyalty_program_id = 7

[[campaign]]
slug = "bike"
name = "Win a bike"
keywords = ["BIKE"]
action = "competition"
award_points = 10
loyalty_program_id = 7
"""


def point_calls(talon_stand_in):
    return [r for r in talon_stand_in.requests if r.path == POINTS_PATH]


@pytest.fixture
def points_app(app):
    import_campaigns_text(app, CAMPAIGNS)
    return app


def plain_talon(talon_stand_in, timeout_seconds=2.0):
    """A Talon.One client without the shared budget: these tests are about the award's rows."""
    return TalonClient(
        base_url=talon_stand_in.url,
        api_key=talon_contract.API_KEY,
        deployment_host=talon_contract.DEPLOYMENT_HOST,
        platform_name="selfserve-tests",
        dry_run=False,
        http=httpx.Client(timeout=timeout_seconds),
    )


def award(app, talon=None, customer_id="C1"):
    services = app.extensions["selfserve"]
    return award_points_once(
        services.sessions,
        talon or services.talon,
        campaign_slug="join",
        customer_id=customer_id,
        loyalty_program_id=7,
        points=25,
    )


def customer_of(talon_stand_in):
    coupons = talon_stand_in.coupon_requests()
    return coupons[0].args["identifier"].split(":")[0] if coupons else None


def awarded(app):
    with app.extensions["selfserve"].sessions() as db:
        return db.scalars(
            select(LoyaltyAward.customer_id).where(LoyaltyAward.state == "awarded")
        ).all()


def award_jobs(huey):
    return [task for task in huey.pending() if task.name == "award_loyalty_points"]


def award_state_of(app, campaign_slug: str) -> str | None:
    with app.extensions["selfserve"].sessions() as db:
        return db.scalar(
            select(LoyaltyAward.state).where(LoyaltyAward.campaign_slug == campaign_slug)
        )


def award_state(app, customer_id="C1"):
    with app.extensions["selfserve"].sessions() as db:
        return db.scalar(select(LoyaltyAward.state).where(LoyaltyAward.customer_id == customer_id))


class TestByText:
    """The webhook hands the award to the worker: no second Talon.One call on the text's path."""

    def test_the_first_text_awards_the_points_once(
        self, points_app, client, talon_stand_in, worker
    ):
        sid = new_message_sid()
        first = reply_text(send_text(client, "JOIN", message_sid=sid))
        assert first.startswith("Your Join and save code: T1-")
        wait_for(lambda: award_state(points_app, customer_of(talon_stand_in)) == "awarded")
        send_text(client, "JOIN", message_sid=sid)  # Twilio's retry of the same message
        send_text(client, "join")  # the customer texting again
        calls = point_calls(talon_stand_in)
        assert len(calls) == 1
        customer_id = calls[0].json["profileIntegrationId"]
        assert customer_id.startswith("ss-")  # the pseudonym, never the number
        assert calls[0].json["loyaltyProgramId"] == 7
        assert calls[0].json["points"] == 25
        assert talon_stand_in.points[(7, customer_id)] == 25  # created by its first points

    def test_each_customer_and_campaign_earns_once(
        self, points_app, client, talon_stand_in, worker
    ):
        send_text(client, "JOIN", sender="+61491570156")
        send_text(client, "JOIN", sender="+61491570157")
        send_text(client, "BIKE", sender="+61491570156")
        wait_for(lambda: len(awarded(points_app)) == 3, what="three awards")
        send_text(client, "BIKE", sender="+61491570156")
        send_text(client, "JOIN", sender="+61491570157")
        calls = [
            (c.json["points"], c.json["profileIntegrationId"]) for c in point_calls(talon_stand_in)
        ]
        assert len(calls) == 3
        assert sorted(points for points, _ in calls) == [10, 25, 25]
        assert len({profile for _, profile in calls}) == 2

    def test_a_code_owed_and_texted_later_earns_the_points_once(
        self, points_app, client, talon_stand_in, twilio_stand_in
    ):
        talon_stand_in.down = True
        assert "T1-" not in reply_text(send_text(client, "JOIN"))  # owed: "we'll text it"
        assert point_calls(talon_stand_in) == []  # not taking part yet: no code
        talon_stand_in.down = False
        services = points_app.extensions["selfserve"]
        services.jobs.huey.flush()  # this test runs the owed code's job itself
        with services.sessions() as db:
            ((owed, attempt),) = db.execute(select(DeferredCode.id, DeferredCode.attempts)).all()
        assert services.deferred_codes.deliver(owed, attempt) is None  # delivered, no retry
        wait_for(lambda: len(twilio_stand_in.messages) == 1, what="the owed code's text")
        assert "T1-" in twilio_stand_in.messages[0].body
        (call,) = point_calls(talon_stand_in)
        assert call.json["points"] == 25
        assert award_state(points_app, customer_of(talon_stand_in)) == "awarded"

    def test_a_text_after_the_award_queues_nothing(self, points_app, client, talon_stand_in):
        huey = points_app.extensions["selfserve"].jobs.huey
        send_text(client, "JOIN")
        (job,) = award_jobs(huey)  # no worker running: the job waits on the queue
        slug, customer_id, attempt = job.args
        assert (slug, attempt) == ("join", 0)
        huey.flush()
        assert award(points_app, customer_id=customer_id) == "awarded"
        send_text(client, "JOIN")
        assert award_jobs(huey) == []

    def test_campaigns_without_award_points_award_nothing(self, points_app, client, talon_stand_in):
        huey = points_app.extensions["selfserve"].jobs.huey
        send_text(client, "SPRING")
        send_text(client, "NOTAKEYWORD")
        assert award_jobs(huey) == []
        assert point_calls(talon_stand_in) == []

    def test_a_failed_coupon_is_not_taking_part(self, points_app, client, talon_stand_in):
        huey = points_app.extensions["selfserve"].jobs.huey
        talon_stand_in.down = True
        send_text(client, "JOIN")
        assert award_jobs(huey) == []
        assert point_calls(talon_stand_in) == []


def claim_on_page(
    client, twilio_stand_in, slug: str, phone: str = "+61491570156", status: int = 200
) -> PhoneVisitor:
    """Scan the campaign's QR and prove the number with the texted code."""
    visitor = PhoneVisitor(client)
    visitor.scan(slug=slug, src="window-1")
    assert visitor.enter_number(phone).status_code == 200
    code = one_time_code(twilio_stand_in.messages_to(phone)[-1].body)
    assert visitor.enter_code(code).status_code == status
    return visitor


class TestOnTheLandingPage:
    """A claim on the QR landing page is taking part too: the same award, queued, once."""

    def test_a_coupon_claimed_on_the_page_queues_the_award_off_the_request_path(
        self, points_app, client, talon_stand_in, twilio_stand_in
    ):
        huey = points_app.extensions["selfserve"].jobs.huey
        assert "T1-" in claim_on_page(client, twilio_stand_in, "join").text
        (job,) = award_jobs(huey)  # no worker running: the job waits on the queue
        slug, customer_id, attempt = job.args
        assert (slug, customer_id, attempt) == ("join", customer_of(talon_stand_in), 0)
        assert point_calls(talon_stand_in) == []

    def test_the_page_and_texts_award_each_customer_and_campaign_once(
        self, points_app, client, talon_stand_in, twilio_stand_in, worker
    ):
        claim_on_page(client, twilio_stand_in, "join")
        wait_for(lambda: len(awarded(points_app)) == 1, what="the page's award")
        claim_on_page(client, twilio_stand_in, "join")  # a second scan, a second code
        send_text(client, "JOIN")  # and texting the keyword
        assert "You're in!" in claim_on_page(client, twilio_stand_in, "bike").text
        wait_for(lambda: award_state_of(points_app, "bike") == "awarded", what="bike's award")
        send_text(client, "BIKE")
        calls = [
            (c.json["points"], c.json["profileIntegrationId"]) for c in point_calls(talon_stand_in)
        ]
        assert sorted(points for points, _ in calls) == [10, 25]
        assert {profile for _, profile in calls} == {customer_of(talon_stand_in)}

    def test_a_code_owed_is_not_taking_part_until_the_page_shows_it(
        self, points_app, client, talon_stand_in, twilio_stand_in
    ):
        huey = points_app.extensions["selfserve"].jobs.huey
        talon_stand_in.down = True
        visitor = claim_on_page(client, twilio_stand_in, "join", status=202)
        assert "We'll text your code" in visitor.text
        assert award_jobs(huey) == []  # owed by SMS, as on the SMS path: not yet taking part
        talon_stand_in.down = False
        assert visitor.get("/q/join/coupon").status_code == 200  # "Check for my code"
        assert "T1-" in visitor.text
        assert [job.args[0] for job in award_jobs(huey)] == ["join"]


class TestOnceAcrossRetries:
    def test_a_surely_failed_post_is_tried_again_and_then_never(self, points_app, talon_stand_in):
        talon_stand_in.answer_next(503, {"StatusCode": 503, "Error": "down", "RequestUUID": "u"})
        assert award(points_app) == "retry"
        assert award(points_app) == "awarded"
        assert award(points_app) == "already_awarded"
        assert len(point_calls(talon_stand_in)) == 2
        assert talon_stand_in.points[(7, "C1")] == 25  # created by its first points

    def test_a_rate_limited_post_is_tried_again(self, points_app, talon_stand_in):
        talon = plain_talon(talon_stand_in)
        talon_stand_in.answer_next(429, {"StatusCode": 429, "Error": "Too many requests"})
        assert award(points_app, talon) == "retry"
        assert award(points_app, talon) == "awarded"

    def test_a_timeout_is_never_posted_again(self, points_app, talon_stand_in):
        """Talon.One may have applied points it did not answer for: posting again could double."""
        impatient = plain_talon(talon_stand_in, timeout_seconds=0.2)
        talon_stand_in.answer_next(204, "", delay_seconds=0.5)
        assert award(points_app, impatient) == "uncertain"
        assert award(points_app) == "in_progress"
        assert len(point_calls(talon_stand_in)) == 1
        assert award_state(points_app) == "uncertain"

    def test_a_crash_between_claim_and_answer_is_never_posted_again(
        self, points_app, talon_stand_in
    ):
        with points_app.extensions["selfserve"].writes.begin() as db:
            db.add(
                LoyaltyAward(
                    campaign_slug="join",
                    customer_id="C1",
                    loyalty_program_id=7,
                    points=25,
                    state="claimed",
                )
            )
        assert award(points_app) == "in_progress"
        assert point_calls(talon_stand_in) == []

    def test_many_at_once_post_once(self, points_app, talon_stand_in):
        talon_stand_in.delay_seconds = 0.2  # the first POST is still in flight
        barrier = threading.Barrier(6)
        states: list[str] = []

        def go() -> None:
            barrier.wait(timeout=10)
            states.append(award(points_app))

        threads = [threading.Thread(target=go) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(point_calls(talon_stand_in)) == 1
        assert sorted(states).count("awarded") == 1
        assert award_state(points_app) == "awarded"


@pytest.fixture
def anytime_app(settings):
    """Birthday texts wait out the recipient's quiet hours; this app's are off, so the test
    runs at any hour."""
    application = create_app(replace(settings, quiet_hours="off"))
    application.config["TESTING"] = True
    yield application
    application.extensions["selfserve"].close()


def test_the_worker_retries_an_award_talon_could_not_take(points_app, talon_stand_in, worker):
    talon_stand_in.answer_next(503, {"StatusCode": 503, "Error": "down", "RequestUUID": "u"})
    points_app.extensions["selfserve"].jobs.enqueue_award("join", "C1")
    wait_for(lambda: award_state(points_app) == "awarded", what="the retried award")
    assert len(point_calls(talon_stand_in)) == 2
    assert talon_stand_in.points[(7, "C1")] == 25  # created by its first points


def test_birthday_texts_award_points_once(anytime_app, tmp_path, talon_stand_in):
    runner = anytime_app.test_cli_runner()
    import_campaigns_text(
        anytime_app,
        """
[[campaign]]
slug = "bday"
name = "Birthday"
action = "birthday"
application_id = 12
campaign_id = 99
award_points = 50
loyalty_program_id = 7
""",
    )
    directory = tmp_path / "customers.csv"
    directory.write_text("phone,customer_id,birthday,sms_consent\n0491570101,C-B,1990-05-17,yes\n")
    runner.invoke(args=["customers", "import", str(directory)])
    runner.invoke(args=["birthdays", "send", "--date", "2027-05-17"])
    runner.invoke(args=["birthdays", "send", "--date", "2027-05-17"])
    runner.invoke(args=["birthdays", "send", "--date", "2028-05-17"])
    calls = point_calls(talon_stand_in)
    assert [(c.json["profileIntegrationId"], c.json["points"]) for c in calls] == [("C-B", 50)]
