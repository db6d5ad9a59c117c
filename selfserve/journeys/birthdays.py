"""Birthday coupons: once a year, each directory customer gets the campaign's coupon by SMS.

A run looks at one date: customers born on that day and month (29 February birthdays on
28 February in non-leap years), skips those who must not be texted, and sends the others
their coupon. The Talon.One identifier (default `{customer_id}:{campaign_id}:{year}`) and the
dedupe key of the text both carry the year, so re-running a day, or a second process running
it, issues no second coupon and sends no second text.

`send_birthday` works on one customer with plain values (slug, customer id, ISO date), so the
task queue runs it as a job. The worker's scheduler calls `run_due` every minute: at each
campaign's send_at local time it owes every customer of the day their text (a `birthday_sends`
row, state `queued`) and enqueues a job each; jobs that cannot finish now (Talon.One busy or
down, our Talon.One budget spent, the recipient's quiet hours) are owed again for later, and
the same tick re-enqueues owed rows whose job was lost (a worker killed mid-queue).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import (
    CampaignBook,
    CampaignSpec,
    campaign_zone,
)
from selfserve.coupons import Coupons
from selfserve.customers import (
    mask_phone,
    next_send_time,
)
from selfserve.journeys.birthday_records import (
    ALREADY_SENT,
    FAILED,
    OWED,
    QUEUED,
    SENT,
    SKIPPED,
    SWEEP_AFTER,
    WAITING,
    WOULD_SEND,
    BirthdayQueue,
    BirthdayReport,
    BirthdayResult,
    claim_birthday_run,
    customers_born_on,
    due_birthday_runs,
    sent_this_year,
    skip_reasons,
    update_unsent,
    write_unsent,
)
from selfserve.journeys.birthday_texts import BirthdayTexts
from selfserve.models import BirthdaySend, utcnow
from selfserve.ops import (
    QuietHours,
)
from selfserve.sms import Outbox, backoff_seconds
from selfserve.talon import TalonClient

log = logging.getLogger(__name__)


class Birthdays:
    """Sends birthday coupons: due runs, one customer's text, dry-run plans."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        campaigns: CampaignBook,
        coupons: Coupons,
        talon: TalonClient,
        outbox: Outbox,
        default_region: str,
        quiet_hours: QuietHours | None = None,
        clock: Callable[[], datetime] = utcnow,
        *,
        queue: BirthdayQueue | None = None,
        retry_base_seconds: float = 30.0,
        retry_max_seconds: float = 900.0,
    ) -> None:
        self._sessions = sessions
        self._campaigns = campaigns
        self._texts = BirthdayTexts(sessions, campaigns, coupons, talon, outbox, quiet_hours, clock)
        self._region = default_region
        self._quiet_hours = quiet_hours
        self._clock = clock
        self._queue = queue
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds

    def birthday_campaigns(self, slug: str | None = None) -> list[CampaignSpec]:
        """Active birthday campaigns (or the one named); raises LookupError for a bad slug."""
        if slug is not None:
            campaign = self._campaigns.by_slug(slug)
            if campaign is None or campaign.action != "birthday":
                raise LookupError(f"no birthday campaign {slug!r}")
            return [campaign]
        return [c for c in self._campaigns.all() if c.action == "birthday" and c.active]

    def local_today(self, campaign: CampaignSpec) -> date:
        """Today in the campaign's time zone."""
        return self._clock().astimezone(campaign_zone(campaign, self._region)).date()

    def plan(self, campaign: CampaignSpec, day: date) -> BirthdayReport:
        """What a run would do, without calling Talon.One or sending anything (dry run).

        Lists every customer whose birthday it is: would send, skipped (and why), already sent,
        or waiting for the end of their quiet hours.
        """
        report = BirthdayReport(campaign.slug, day, dry_run=True)
        with self._sessions() as db:
            due = customers_born_on(db, day)
            reasons = skip_reasons(db, (c.phone_e164 for c in due))
            done = sent_this_year(db, campaign.slug, day.year)
        now = self._clock()
        for customer in due:
            send_after = None
            # Why a customer must not be texted (now) comes first: a customer who got this
            # year's text and then texted STOP reads "skipped: opted out", which is the news.
            if customer.phone_e164 in reasons:
                state, detail = SKIPPED, reasons[customer.phone_e164]
            elif customer.customer_id in done:
                state, detail = ALREADY_SENT, ""
            else:
                send_after = next_send_time(customer.phone_e164, now, self._quiet_hours)
                if send_after > now:
                    state, detail = WAITING, self._texts.quiet_until(customer.phone_e164)
                else:
                    state, detail, send_after = WOULD_SEND, "", None
            report.results.append(
                BirthdayResult(
                    campaign.slug,
                    customer.customer_id,
                    mask_phone(customer.phone_e164),
                    state,
                    detail,
                    send_after=send_after,
                )
            )
        return report

    def run(
        self,
        campaign: CampaignSpec,
        day: date,
        progress: Callable[[int], None] | None = None,
        plan: BirthdayReport | None = None,
        *,
        inline: bool = True,
    ) -> BirthdayReport:
        """Send (or owe) the campaign's birthday texts for `day`.

        `inline=True` (the command): each customer is tried here and now, and only those who
        cannot be served now (Talon.One busy, quiet hours) go to the worker. `inline=False`
        (the scheduler): every customer is owed and handed to the worker. Without a queue,
        those are reported as failed or waiting and a later run sends them. A Talon.One
        configuration error (400/401/404) stops the run: every other customer would fail too.
        """
        if plan is None:
            plan = self.plan(campaign, day)
        report = BirthdayReport(campaign.slug, day, dry_run=False)
        for planned in plan.results:
            if planned.state not in (WOULD_SEND, WAITING):
                report.results.append(planned)
                continue
            if planned.state == WAITING or not inline:
                result = self._owe_later(planned, day, delay_seconds=None)
            else:
                result = self.send_birthday(campaign.slug, planned.customer_id, day.isoformat())
                if result.state == WAITING or result.transient:
                    result = self._owe_later(result, day, self._delay_for(result, 1))
            report.results.append(result)
            if progress is not None:
                progress(1)
            if result.configuration_error:
                report.stopped = result.detail
                break
        log.info(
            "birthdays_run",
            extra={
                "campaign": campaign.slug,
                "day": day.isoformat(),
                "sent": report.count(SENT),
                "queued": report.count(QUEUED),
                "skipped": report.count(SKIPPED),
                "already_sent": report.count(ALREADY_SENT),
                "waiting": report.count(WAITING),
                "failed": report.count(FAILED),
            },
        )
        return report

    def run_due(self) -> list[BirthdayReport]:
        """The scheduler's tick: run each birthday campaign whose send_at has passed today,
        then hand back to the worker any owed text whose job was lost.

        Each (campaign, local date) runs once, however often this is called and by however
        many workers: the run is claimed in the database first.
        """
        now = self._clock()
        campaigns = {campaign.slug: campaign for campaign in self.birthday_campaigns()}
        reports = []
        for slug, day in due_birthday_runs(campaigns.values(), now, self._region):
            with self._sessions.begin() as db:
                claimed = claim_birthday_run(db, slug, day, now)
            if claimed:
                reports.append(self.run(campaigns[slug], day, inline=self._queue is None))
        if self._queue is not None:
            for slug, customer_id, day in self.overdue():
                self._queue.enqueue_birthday(slug, customer_id, day.isoformat())
        return reports

    def deliver_owed(self, campaign_slug: str, customer_id: str, day_iso: str) -> float | None:
        """The worker's job: send one owed birthday text; returns seconds until it is owed
        again (Talon.One busy, quiet hours), or None when it is done (sent or not to be sent).
        """
        result = self.send_birthday(campaign_slug, customer_id, day_iso)
        day = date.fromisoformat(day_iso)
        if result.state == SKIPPED:
            self._set_state(campaign_slug, customer_id, day, SKIPPED, result.detail)
        if result.state != WAITING and not result.transient:
            return None
        with self._sessions.begin() as db:
            failures = db.scalar(
                update(BirthdaySend)
                .where(
                    BirthdaySend.campaign_slug == campaign_slug,
                    BirthdaySend.customer_id == customer_id,
                    BirthdaySend.year == day.year,
                )
                .values(failures=BirthdaySend.failures + (1 if result.state == FAILED else 0))
                .returning(BirthdaySend.failures)
            )
        delay = self._delay_for(result, failures or 0)
        self._owe(campaign_slug, customer_id, day, self._clock() + timedelta(seconds=delay))
        return delay

    def overdue(self) -> list[tuple[str, str, date]]:
        """Owed texts whose job should have run long ago (lost with a killed worker):
        (campaign, customer id, day) to enqueue again; their time moves on so the next sweep
        leaves them alone."""
        now = self._clock()
        with self._sessions.begin() as db:
            rows = db.execute(
                update(BirthdaySend)
                .where(BirthdaySend.state == OWED, BirthdaySend.next_attempt_at < now - SWEEP_AFTER)
                .values(next_attempt_at=now)
                .returning(
                    BirthdaySend.campaign_slug, BirthdaySend.customer_id, BirthdaySend.sent_for
                )
            ).all()
        if rows:
            log.warning("birthdays_swept", extra={"owed": len(rows)})
        return [(row.campaign_slug, row.customer_id, row.sent_for) for row in rows]

    def _owe_later(
        self, result: BirthdayResult, day: date, delay_seconds: float | None
    ) -> BirthdayResult:
        """Hand a customer the run could not serve now to the worker (when there is one)."""
        if self._queue is None:
            return result
        when = result.send_after or self._clock() + timedelta(seconds=delay_seconds or 0)
        self._owe(result.campaign_slug, result.customer_id, day, when)
        delay = max((when - self._clock()).total_seconds(), 0.0)
        self._queue.enqueue_birthday(
            result.campaign_slug, result.customer_id, day.isoformat(), delay or None
        )
        why = result.detail or "to be sent by the worker"
        return BirthdayResult(
            result.campaign_slug, result.customer_id, result.phone_masked, QUEUED, why
        )

    def _delay_for(self, result: BirthdayResult, failures: int) -> float:
        if result.state == WAITING and result.send_after is not None:
            return max((result.send_after - self._clock()).total_seconds(), 0.0)
        if result.retry_after_seconds is not None:
            return result.retry_after_seconds
        return backoff_seconds(max(failures, 1), self._retry_base, self._retry_max)

    def _owe(self, campaign_slug: str, customer_id: str, day: date, when: datetime) -> None:
        """Record that this text is owed at `when` (never over one already sent)."""
        with self._sessions.begin() as db:
            write_unsent(
                db,
                campaign_slug,
                customer_id,
                day,
                {"state": OWED, "next_attempt_at": when, "updated_at": self._clock()},
                on_insert={"sent_for": day, "identifier": ""},
            )

    def _set_state(
        self, campaign_slug: str, customer_id: str, day: date, state: str, detail: str
    ) -> None:
        with self._sessions.begin() as db:
            update_unsent(
                db,
                campaign_slug,
                customer_id,
                day,
                {"state": state, "detail": detail or None, "updated_at": self._clock()},
            )

    def send_birthday(self, campaign_slug: str, customer_id: str, day_iso: str) -> BirthdayResult:
        """Send one customer's birthday coupon for the day `day_iso`, at most once (a job)."""
        return self._texts.send(campaign_slug, customer_id, day_iso)
