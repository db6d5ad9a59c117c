"""Birthday coupons: who is due on a date (leap years too), once a year, skips, dry runs, runs."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from selfserve.campaigns import validate_campaign
from selfserve.journeys import (
    Birthdays,
    birthday_dates,
    claim_birthday_run,
    due_birthday_runs,
    is_birthday,
)
from selfserve.models import BirthdaySend, OptOut
from selfserve.ops import (
    QuietHours,
)
from selfserve.queue import WorkerThreads
from tests.conftest import import_campaigns_text, send_text, wait_for
from tests.test_code_pages import decoded

BIRTHDAY = """
[[campaign]]
slug = "bday"
name = "Acme birthday treat"
action = "birthday"
application_id = 12
campaign_id = 99
reply = "Happy birthday {first_name}! Your gift code: {code}"
"""

DIRECTORY = """phone,customer_id,first_name,birthday,sms_consent
0491 570 101,C-LEAP,Lea,1992-02-29,yes
+61491570102,C-28FEB,Feb,1985-02-28,yes
0491570103,C-1MAR,Mar,1985-03-01,yes
0491570104,C-NONE,Nobody,,yes
0491570105,C-STOP,Stopper,1970-02-28,yes
0491570106,C-LATER,Later,2030-02-28,yes
0491570107,C-NOCON,Noconsent,1980-02-28,
"""
NUMBERS = {
    "C-LEAP": "+61491570101",
    "C-28FEB": "+61491570102",
    "C-1MAR": "+61491570103",
    "C-STOP": "+61491570105",
    "C-NOCON": "+61491570107",
}


@pytest.fixture
def settings(settings):
    """Quiet hours off: the command runs at whatever time the suite does (TestQuietHours below
    controls the clock instead)."""
    return replace(settings, quiet_hours="off")


@pytest.fixture
def birthday_app(app, runner, tmp_path):
    import_campaigns_text(app, BIRTHDAY)
    directory = tmp_path / "customers.csv"
    directory.write_text(DIRECTORY)
    result = runner.invoke(args=["customers", "import", str(directory)])
    assert "7 imported" in result.output, result.output
    return app


def send(runner, day: str, *extra: str):
    return runner.invoke(args=["birthdays", "send", "--date", day, *extra])


def send_state(app) -> str | None:
    with app.extensions["selfserve"].sessions() as db:
        return db.scalar(select(BirthdaySend.state))


def texted(twilio_stand_in) -> list[str]:
    return sorted(message.to for message in twilio_stand_in.messages)


class TestWhoIsDue:
    @pytest.mark.parametrize(
        ("day", "celebrated"),
        [
            (date(2027, 2, 28), [(2, 28), (2, 29)]),  # common year: 29 Feb is celebrated on 28
            (date(2028, 2, 28), [(2, 28)]),  # leap year: 29 Feb has its own day
            (date(2028, 2, 29), [(2, 29)]),
            (date(2027, 3, 1), [(3, 1)]),
            (date(2100, 2, 28), [(2, 28), (2, 29)]),  # 2100 is not a leap year
            (date(2000, 2, 28), [(2, 28)]),  # 2000 is
        ],
    )
    def test_birthday_dates(self, day, celebrated):
        assert birthday_dates(day) == celebrated

    def test_someone_not_yet_born_has_no_birthday(self):
        assert not is_birthday(date(2030, 2, 28), date(2027, 2, 28))
        assert is_birthday(date(1992, 2, 29), date(2027, 2, 28))
        assert not is_birthday(date(1992, 2, 29), date(2027, 3, 1))


class TestSending:
    def test_a_common_years_28_february_texts_28_and_29_february_birthdays(
        self, birthday_app, runner, twilio_stand_in, talon_stand_in
    ):
        with birthday_app.extensions["selfserve"].writes.begin() as db:
            db.add(OptOut(phone_e164=NUMBERS["C-STOP"], opted_out=True))
        result = send(runner, "2027-02-28")
        assert result.exit_code == 0, result.output
        assert texted(twilio_stand_in) == [NUMBERS["C-LEAP"], NUMBERS["C-28FEB"]]
        bodies = {m.to: m.body for m in twilio_stand_in.messages}
        assert bodies[NUMBERS["C-LEAP"]].startswith("Happy birthday Lea! Your gift code: T1-")
        identifiers = sorted(r.args["identifier"] for r in talon_stand_in.coupon_requests())
        assert identifiers == ["C-28FEB:99:2027", "C-LEAP:99:2027"]
        assert "2 sent, 0 already sent, 2 skipped, 0 FAILED" in result.output
        assert "skipped      C-STOP  +61 4•• ••• •05  opted out (STOP)" in result.output
        assert "skipped      C-NOCON  +61 4•• ••• •07  no marketing consent" in result.output

    def test_an_mms_birthday_campaign_texts_the_barcode_png_as_media_url(
        self, birthday_app, runner, twilio_stand_in
    ):
        import_campaigns_text(
            birthday_app,
            BIRTHDAY.replace("{code}", "{code} {code_url}") + "mms = true\n",
        )
        assert send(runner, "2027-03-01").exit_code == 0
        [sent] = twilio_stand_in.messages
        link = sent.body.split()[-1]
        assert sent.media_urls == [link + "/barcode.png"]
        code = sent.body.split("code: ")[1].split()[0]
        picture = birthday_app.test_client().get(urlsplit(sent.media_urls[0]).path)
        assert picture.mimetype == "image/png"
        assert decoded(picture.data) == [("CODE128", code)]

    def test_a_leap_years_28_february_leaves_29_february_for_its_own_day(
        self, birthday_app, runner, twilio_stand_in
    ):
        send(runner, "2028-02-28")
        assert NUMBERS["C-LEAP"] not in texted(twilio_stand_in)
        assert NUMBERS["C-28FEB"] in texted(twilio_stand_in)
        send(runner, "2028-02-29")
        assert texted(twilio_stand_in).count(NUMBERS["C-LEAP"]) == 1

    def test_1_march_does_not_catch_29_february_birthdays(
        self, birthday_app, runner, twilio_stand_in
    ):
        send(runner, "2027-03-01")
        assert texted(twilio_stand_in) == [NUMBERS["C-1MAR"]]

    def test_re_running_the_same_day_sends_nothing_new(
        self, birthday_app, runner, twilio_stand_in, talon_stand_in
    ):
        send(runner, "2027-03-01")
        again = send(runner, "2027-03-01")
        assert again.exit_code == 0
        assert "0 sent, 1 already sent" in again.output
        assert len(twilio_stand_in.messages) == 1
        assert len(talon_stand_in.coupon_requests()) == 1

    def test_next_year_brings_a_new_coupon(self, birthday_app, runner, twilio_stand_in):
        send(runner, "2027-03-01")
        send(runner, "2028-03-01")
        codes = [m.body.split("code: ")[1] for m in twilio_stand_in.messages]
        assert len(codes) == 2
        assert codes[0] != codes[1]
        with birthday_app.extensions["selfserve"].sessions() as db:
            years = db.scalars(select(BirthdaySend.year).order_by(BirthdaySend.year)).all()
        assert years == [2027, 2028]

    def test_a_dry_run_lists_who_would_get_a_text_and_sends_nothing(
        self, birthday_app, runner, twilio_stand_in, talon_stand_in
    ):
        with birthday_app.extensions["selfserve"].writes.begin() as db:
            db.add(OptOut(phone_e164=NUMBERS["C-STOP"], opted_out=True))
        result = send(runner, "2027-02-28", "--dry-run")
        assert result.exit_code == 0
        assert result.output.splitlines() == [
            "birthdays 2027-02-28 bday: 2 would be sent, 2 skipped, 0 already sent, 0 waiting "
            "(dry run: nothing sent)",
            "  would send   C-28FEB  +61 4•• ••• •02",
            "  would send   C-LEAP  +61 4•• ••• •01",
            "  skipped      C-NOCON  +61 4•• ••• •07  no marketing consent",
            "  skipped      C-STOP  +61 4•• ••• •05  opted out (STOP)",
        ]
        assert twilio_stand_in.messages == []
        assert talon_stand_in.requests == []

    def test_a_dry_run_after_a_run_shows_who_already_got_theirs(
        self, birthday_app, runner, twilio_stand_in
    ):
        send(runner, "2027-03-01")
        result = send(runner, "2027-03-01", "--dry-run")
        assert "0 would be sent, 0 skipped, 1 already sent, 0 waiting" in result.output

    def test_full_numbers_never_reach_the_output_or_the_log(self, birthday_app, runner, caplog):
        with caplog.at_level(logging.DEBUG):
            result = send(runner, "2027-02-28")
        text = result.output + caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
        for number in NUMBERS.values():
            assert number not in text
            assert number[3:] not in text

    def test_talon_down_queues_the_customer_and_a_later_run_catches_up(
        self, birthday_app, runner, twilio_stand_in, talon_stand_in
    ):
        talon_stand_in.down = True
        first = send(runner, "2027-03-01")
        assert first.exit_code == 0
        assert "1 queued" in first.output
        assert "queued       C-1MAR  +61 4•• ••• •03  Talon.One answered 503" in first.output
        assert twilio_stand_in.messages == []
        talon_stand_in.down = False
        second = send(runner, "2027-03-01")  # no worker running: the command tries again
        assert "1 sent" in second.output
        assert texted(twilio_stand_in) == [NUMBERS["C-1MAR"]]

    def test_the_worker_sends_what_talon_could_not_serve_during_the_run(
        self, birthday_app, runner, twilio_stand_in, talon_stand_in, worker
    ):
        talon_stand_in.down = True
        assert "1 queued" in send(runner, "2027-03-01").output
        # The worker tries while Talon.One is still down, and owes it again with backoff.
        wait_for(lambda: len(talon_stand_in.coupon_requests()) >= 3, what="the worker's tries")
        talon_stand_in.down = False
        wait_for(lambda: send_state(birthday_app) == "sent", what="the worker's birthday text")
        assert texted(twilio_stand_in) == [NUMBERS["C-1MAR"]]
        again = send(runner, "2027-03-01")
        assert "1 already sent" in again.output

    def test_a_talon_configuration_error_stops_the_run(
        self, birthday_app, runner, talon_stand_in, twilio_stand_in
    ):
        talon_stand_in.answer_next(401, {"StatusCode": 401, "Error": "bad", "RequestUUID": "u1"})
        result = send(runner, "2027-02-28")
        assert result.exit_code == 1
        assert "stopped: Talon.One answered 401" in result.output
        assert len(talon_stand_in.coupon_requests()) == 1
        assert twilio_stand_in.messages == []

    def test_twilio_saying_opted_out_records_the_opt_out(
        self, birthday_app, runner, twilio_stand_in
    ):
        twilio_stand_in.opted_out.add(NUMBERS["C-1MAR"])
        result = send(runner, "2027-03-01")
        assert "skipped      C-1MAR" in result.output
        with birthday_app.extensions["selfserve"].sessions() as db:
            assert db.get(OptOut, NUMBERS["C-1MAR"]).opted_out

    def test_a_customer_who_texted_stop_is_skipped(
        self, birthday_app, client, runner, twilio_stand_in
    ):
        send_text(client, "STOP", sender=NUMBERS["C-1MAR"])
        result = send(runner, "2027-03-01")
        assert "opted out" in result.output
        assert twilio_stand_in.messages == []

    def test_two_runs_at_once_text_each_customer_once(self, birthday_app, twilio_stand_in):
        services = birthday_app.extensions["selfserve"]
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                birthdays = services.birthdays()
                (campaign,) = birthdays.birthday_campaigns()
                barrier.wait(timeout=10)
                birthdays.run(campaign, date(2027, 2, 28))
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert texted(twilio_stand_in) == sorted(
            [NUMBERS["C-LEAP"], NUMBERS["C-28FEB"], NUMBERS["C-STOP"]]
        )

    def test_an_unknown_campaign_is_a_clear_error(self, birthday_app, runner):
        result = runner.invoke(args=["birthdays", "send", "--campaign", "nope"])
        assert result.exit_code != 0
        assert "no birthday campaign 'nope'" in result.output

    def test_a_bad_date_is_a_usage_error(self, birthday_app, runner):
        result = send(runner, "28/02/2027")
        assert result.exit_code == 2
        assert "Invalid value for '--date'" in result.output

    def test_no_birthday_campaign_means_nothing_to_do(self, app, runner):
        result = send(runner, "2027-03-01")
        assert result.exit_code == 0
        assert "no active birthday campaigns" in result.output


class TestToday:
    def test_without_a_date_today_is_the_campaigns_local_date(self, birthday_app):
        services = birthday_app.extensions["selfserve"]
        # 14:30 UTC on 28 Feb is already 1 March in Sydney (the default region AU's zone).
        clock = lambda: datetime(2027, 2, 28, 14, 30, tzinfo=UTC)  # noqa: E731
        birthdays = services.birthdays(clock)
        (campaign,) = birthdays.birthday_campaigns()
        assert birthdays.local_today(campaign) == date(2027, 3, 1)


def birthday_spec(**fields):
    raw = {
        "slug": "bday",
        "name": "Birthday",
        "action": "birthday",
        "application_id": 1,
        "campaign_id": 2,
    }
    raw.update(fields)
    spec, problems = validate_campaign(raw, "bday")
    assert problems == []
    return spec


class TestSchedule:
    @pytest.mark.parametrize(
        ("now", "due"),
        [
            (  # 21:59 on 28 Feb in London: London's run for that day is (still) due
                datetime(2027, 3, 1, 8, 59, tzinfo=ZoneInfo("Australia/Sydney")),
                [("ldn", date(2027, 2, 28))],
            ),
            (
                datetime(2027, 3, 1, 9, 0, tzinfo=ZoneInfo("Australia/Sydney")),
                [("syd", date(2027, 3, 1)), ("ldn", date(2027, 2, 28))],
            ),
            (
                datetime(2027, 3, 1, 10, 0, tzinfo=UTC),  # 21:00 in Sydney, 10:00 in London
                [("syd", date(2027, 3, 1)), ("ldn", date(2027, 3, 1))],
            ),
            (
                datetime(2027, 3, 1, 9, 0, tzinfo=UTC),  # 20:00 Sydney; London is not 10:00 yet
                [("syd", date(2027, 3, 1))],
            ),
        ],
    )
    def test_runs_are_due_at_each_campaigns_local_send_time(self, now, due):
        campaigns = [
            birthday_spec(slug="syd"),  # 09:00 in DEFAULT_REGION AU's zone
            birthday_spec(slug="ldn", timezone="Europe/London", send_at="10:00"),
            birthday_spec(slug="off", active=False),
        ]
        assert due_birthday_runs(campaigns, now, "AU") == due

    def test_each_run_is_claimed_once(self, app):
        with app.extensions["selfserve"].writes.begin() as db:
            now = datetime(2027, 3, 1, tzinfo=UTC)
            assert claim_birthday_run(db, "bday", date(2027, 3, 1), now)
            assert not claim_birthday_run(db, "bday", date(2027, 3, 1), now)
            assert claim_birthday_run(db, "bday", date(2027, 3, 2), now)


class TestConsent:
    SUBSCRIBE = """
[[campaign]]
slug = "club"
name = "Acme SMS Club"
keywords = ["JOIN"]
action = "subscribe"
reply = "Reply Y to get Acme offers by SMS. Msg&data rates may apply. Reply STOP to cancel."
"""

    def test_join_and_y_bring_a_customer_into_the_next_run_and_stop_takes_them_out(
        self, birthday_app, client, runner, twilio_stand_in
    ):
        import_campaigns_text(birthday_app, self.SUBSCRIBE)
        number = NUMBERS["C-NOCON"]
        send_text(client, "JOIN", sender=number)
        pending = send(runner, "2027-02-28", "--dry-run")
        assert "C-NOCON  +61 4•• ••• •07  consent pending" in pending.output
        send_text(client, "Y", sender=number)
        send(runner, "2027-02-28")
        assert number in texted(twilio_stand_in)
        send_text(client, "STOP", sender=number)
        again = send(runner, "2027-02-28")  # the same day again: STOP is the news, not "sent"
        assert "skipped      C-NOCON  +61 4•• ••• •07  opted out (STOP)" in again.output
        later = send(runner, "2028-02-28")
        assert "skipped      C-NOCON" in later.output
        assert texted(twilio_stand_in).count(number) == 1


class TestQuietHours:
    """The recipient's local quiet hours hold a birthday text back; clock injected, no sleeping."""

    def birthdays(self, app, now: datetime, with_queue: bool = False) -> Birthdays:
        services = app.extensions["selfserve"]
        return Birthdays(
            services.sessions,
            services.campaigns,
            services.worker_coupons,
            services.talon,
            services.outbox,
            "AU",
            QuietHours(time(21), time(8)),
            clock=lambda: now,
            queue=services.jobs if with_queue else None,
        )

    def test_a_text_waits_for_the_end_of_the_recipients_quiet_hours(
        self, birthday_app, twilio_stand_in, talon_stand_in
    ):
        early = datetime(2027, 3, 1, 7, 30, tzinfo=ZoneInfo("Australia/Sydney"))
        birthdays = self.birthdays(birthday_app, early)
        (campaign,) = birthdays.birthday_campaigns()
        plan = birthdays.plan(campaign, date(2027, 3, 1))
        assert [(r.customer_id, r.state, r.detail) for r in plan.results] == [
            ("C-1MAR", "waiting", "quiet hours until 08:00 local")
        ]
        report = birthdays.run(campaign, date(2027, 3, 1))
        assert report.count("waiting") == 1
        assert twilio_stand_in.messages == []
        assert talon_stand_in.requests == []
        waiting = birthdays.send_birthday("bday", "C-1MAR", "2027-03-01")
        assert waiting.state == "waiting"
        assert waiting.send_after == datetime(2027, 3, 1, 8, 0, tzinfo=ZoneInfo("Australia/Sydney"))

        later = self.birthdays(birthday_app, datetime(2027, 3, 1, 8, 0, tzinfo=early.tzinfo))
        assert later.run(campaign, date(2027, 3, 1)).count("sent") == 1
        assert texted(twilio_stand_in) == [NUMBERS["C-1MAR"]]

    def test_with_a_queue_the_text_is_scheduled_for_when_quiet_hours_end(
        self, birthday_app, twilio_stand_in
    ):
        early = datetime(2027, 3, 1, 7, 30, tzinfo=ZoneInfo("Australia/Sydney"))
        birthdays = self.birthdays(birthday_app, early, with_queue=True)
        (campaign,) = birthdays.birthday_campaigns()
        report = birthdays.run(campaign, date(2027, 3, 1))
        assert [(r.state, r.detail) for r in report.results] == [
            ("queued", "quiet hours until 08:00 local")
        ]
        huey = birthday_app.extensions["selfserve"].jobs.huey
        (job,) = [task for task in huey.pending() if task.name == "send_birthday"]
        assert job.args == ("bday", "C-1MAR", "2027-03-01")
        seconds_ahead = (job.eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
        assert 29 * 60 < seconds_ahead <= 30 * 60
        with birthday_app.extensions["selfserve"].sessions() as db:
            owed = db.scalar(select(BirthdaySend))
        assert owed.state == "queued"
        assert owed.next_attempt_at == datetime(
            2027, 3, 1, 8, 0, tzinfo=ZoneInfo("Australia/Sydney")
        )
        assert twilio_stand_in.messages == []

    def test_quiet_hours_are_the_recipients_not_the_campaigns(
        self, birthday_app, runner, tmp_path, twilio_stand_in
    ):
        directory = tmp_path / "more.csv"
        directory.write_text(
            "phone,customer_id,birthday,sms_consent\n+447400123456,C-UK,1980-03-01,yes\n"
        )
        assert "1 imported" in runner.invoke(args=["customers", "import", str(directory)]).output
        # 09:00 in Sydney is 22:00 the evening before in London.
        now = datetime(2027, 3, 1, 9, 0, tzinfo=ZoneInfo("Australia/Sydney"))
        birthdays = self.birthdays(birthday_app, now)
        (campaign,) = birthdays.birthday_campaigns()
        report = birthdays.run(campaign, date(2027, 3, 1))
        states = {r.customer_id: (r.state, r.detail) for r in report.results}
        assert states["C-1MAR"] == ("sent", "")
        assert states["C-UK"] == ("waiting", "quiet hours until 08:00 local")
        assert texted(twilio_stand_in) == [NUMBERS["C-1MAR"]]


class TestScheduledRuns:
    def test_the_daily_run_happens_once_after_send_at_and_the_worker_sends(
        self, birthday_app, twilio_stand_in, worker
    ):
        services = birthday_app.extensions["selfserve"]
        sydney = ZoneInfo("Australia/Sydney")
        moments = [
            datetime(2027, 3, 1, 8, 59, tzinfo=sydney),  # before 09:00: nothing yet
            datetime(2027, 3, 1, 9, 0, tzinfo=sydney),  # due: C-1MAR's birthday
            datetime(2027, 3, 1, 9, 1, tzinfo=sydney),  # the next tick: already ran
        ]
        ticks = []
        for now in moments:
            birthdays = services.birthdays(lambda now=now: now)
            ticks.append([(r.day, r.count("queued")) for r in birthdays.run_due()])
        assert ticks == [[], [(date(2027, 3, 1), 1)], []]
        wait_for(lambda: texted(twilio_stand_in), what="the worker's birthday text")
        assert texted(twilio_stand_in) == [NUMBERS["C-1MAR"]]

    def test_the_tick_is_a_periodic_task_every_minute(self, birthday_app):
        huey = birthday_app.extensions["selfserve"].jobs.huey
        for minute in (0, 1, 30, 59):
            due = [task.name for task in huey.read_periodic(datetime(2027, 3, 1, 9, minute))]
            assert due.count("birthday_tick") == 1

    def test_a_lost_birthday_job_is_found_by_the_next_tick(
        self, birthday_app, twilio_stand_in, worker
    ):
        services = birthday_app.extensions["selfserve"]
        now = datetime.now(UTC)
        with services.writes.begin() as db:
            db.add(  # owed ten minutes ago; its job died with a killed worker
                BirthdaySend(
                    campaign_slug="bday",
                    customer_id="C-1MAR",
                    year=2027,
                    sent_for=date(2027, 3, 1),
                    state="queued",
                    identifier="",
                    next_attempt_at=now - timedelta(minutes=10),
                )
            )
        services.jobs.tick()  # (today's real date has no birthdays to run)
        wait_for(lambda: texted(twilio_stand_in), what="the swept birthday text")
        assert texted(twilio_stand_in) == [NUMBERS["C-1MAR"]]


class TestBudget:
    def test_the_talon_budget_holds_and_the_queue_sends_the_rest(
        self, queue_settings, twilio_stand_in, talon_stand_in, tmp_path
    ):
        """Budget 2 per 1-second window: the command sends 2, the worker the rest as room opens
        (embedded queue, then Redis when TEST_REDIS_URL is set)."""
        from tests.conftest import _build_app

        budgeted = replace(
            queue_settings, talon_rate_limit_per_minute=2, talon_rate_window_seconds=1.0
        )
        application = _build_app(budgeted)
        try:
            import_campaigns_text(application, BIRTHDAY)
            directory = tmp_path / "many.csv"
            rows = [f"+6149157030{n},C-{n},1980-03-01,yes" for n in range(5)]
            directory.write_text("phone,customer_id,birthday,sms_consent\n" + "\n".join(rows))
            runner = application.test_cli_runner()
            runner.invoke(args=["customers", "import", str(directory)])
            result = runner.invoke(args=["birthdays", "send", "--date", "2027-03-01"])
            assert "2 sent" in result.output
            assert "3 queued" in result.output
            assert "our Talon.One budget is spent for now" in result.output
            assert len(talon_stand_in.coupon_requests()) == 2
            services = application.extensions["selfserve"]
            running = WorkerThreads(services.jobs, threads=2, lease_seconds=3.0).start()
            try:
                wait_for(lambda: len(twilio_stand_in.messages) == 5, what="all five texts")
            finally:
                running.stop()
            assert len(talon_stand_in.coupon_requests()) == 5
        finally:
            application.extensions["selfserve"].close()
