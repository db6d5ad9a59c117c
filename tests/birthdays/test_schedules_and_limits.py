"""Birthday runs: today, the schedule, consent, quiet hours, scheduled runs and the budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from selfserve.journeys import (
    Birthdays,
    claim_birthday_run,
    due_birthday_runs,
)
from selfserve.models import BirthdaySend
from selfserve.ops import (
    QuietHours,
)
from selfserve.queue import WorkerThreads
from tests.birthdays.conftest import (
    BIRTHDAY,
    NUMBERS,
    birthday_spec,
    send,
    texted,
)
from tests.conftest import import_campaigns_text, send_text, wait_for


class TestToday:
    def test_without_a_date_today_is_the_campaigns_local_date(self, birthday_app):
        services = birthday_app.extensions["selfserve"]
        # 14:30 UTC on 28 Feb is already 1 March in Sydney (the default region AU's zone).
        clock = lambda: datetime(2027, 2, 28, 14, 30, tzinfo=UTC)  # noqa: E731
        birthdays = services.birthdays(clock)
        (campaign,) = birthdays.birthday_campaigns()
        assert birthdays.local_today(campaign) == date(2027, 3, 1)


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
