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

import calendar
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import extract, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import (
    DEFAULT_SEND_AT,
    CampaignBook,
    CampaignSpec,
    campaign_zone,
    render_template,
)
from selfserve.coupons import Coupons
from selfserve.customers import (
    marketing_skip_reason,
    mask_phone,
    next_send_time,
    recipient_zone,
)
from selfserve.errors import TalonError, TalonRateLimited, TalonRejected
from selfserve.journeys import sends as journeys
from selfserve.journeys.loyalty import award_points_once
from selfserve.journeys.sends import identifier_on, send_journey_text
from selfserve.models import BirthdayRun, BirthdaySend, Customer, utcnow
from selfserve.ops import (
    QuietHours,
    insert_ignoring_duplicates,
)
from selfserve.sms import Outbox, backoff_seconds
from selfserve.talon import TalonClient

log = logging.getLogger(__name__)

SENT, ALREADY_SENT, SKIPPED, FAILED, IN_PROGRESS, WOULD_SEND, WAITING, QUEUED = (
    "sent",
    "already_sent",
    "skipped",
    "failed",
    "in_progress",
    "would_send",
    "waiting",
    "queued",
)
OWED = QUEUED  # a birthday_sends row whose text is owed: a job is on its way
SWEEP_AFTER = timedelta(minutes=5)  # an owed row this far past its time lost its job


class BirthdayQueue(Protocol):
    """Hands one customer's birthday text to the worker (Jobs.enqueue_birthday)."""

    def enqueue_birthday(
        self,
        campaign_slug: str,
        customer_id: str,
        day_iso: str,
        delay_seconds: float | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class BirthdayCustomer:
    """A directory customer whose birthday it is."""

    customer_id: str
    phone_e164: str
    first_name: str
    birthday: date


@dataclass(frozen=True)
class BirthdayResult:
    """What happened (or, in a dry run, would happen) for one customer."""

    campaign_slug: str
    customer_id: str
    phone_masked: str
    state: str
    detail: str = ""
    configuration_error: bool = False  # Talon.One refused the campaign: the others would fail too
    send_after: datetime | None = None  # WAITING: the end of the recipient's quiet hours
    transient: bool = False  # FAILED for now (Talon.One busy or down): worth trying again
    retry_after_seconds: float | None = None  # … and when, if Talon.One or our budget said


@dataclass
class BirthdayReport:
    """One campaign's run for one date."""

    campaign_slug: str
    day: date
    dry_run: bool
    results: list[BirthdayResult] = field(default_factory=list)
    stopped: str = ""  # why the run stopped early (a Talon.One configuration error)

    def count(self, state: str) -> int:
        """How many customers ended in `state`."""
        return sum(1 for result in self.results if result.state == state)


def birthday_dates(day: date) -> list[tuple[int, int]]:
    """The (month, day) birthdays celebrated on `day`: 28 Feb also takes 29 Feb in common years."""
    dates = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        dates.append((2, 29))
    return dates


def is_birthday(birthday: date, day: date) -> bool:
    """True when a customer born on `birthday` celebrates on `day`."""
    return (birthday.month, birthday.day) in birthday_dates(day) and birthday <= day


def skip_reasons(db: Session, phones: Iterable[str]) -> dict[str, str]:
    """Why some of these numbers must not get a marketing text: {phone: reason}.

    A birthday coupon is marketing: it goes only to numbers that consented and have not
    opted out (selfserve.customers.consent); every birthday send and dry run asks here.
    """
    reasons: dict[str, str] = {}
    for phone in phones:
        reason = marketing_skip_reason(db, phone)
        if reason:
            reasons[phone] = reason
    return reasons


def customers_born_on(db: Session, day: date) -> list[BirthdayCustomer]:
    """Directory customers whose birthday is celebrated on `day`, by customer id."""
    matches = [
        (extract("month", Customer.birthday) == month) & (extract("day", Customer.birthday) == dom)
        for month, dom in birthday_dates(day)
    ]
    rows = db.execute(
        select(Customer.customer_id, Customer.phone_e164, Customer.first_name, Customer.birthday)
        .where(Customer.birthday.is_not(None), Customer.birthday <= day, or_(*matches))
        .order_by(Customer.customer_id)
    ).all()
    return [
        BirthdayCustomer(row.customer_id, row.phone_e164, row.first_name or "", row.birthday)
        for row in rows
    ]


def sent_this_year(db: Session, campaign_slug: str, year: int) -> set[str]:
    """Customer ids that already got this campaign's birthday text in `year`."""
    return set(
        db.scalars(
            select(BirthdaySend.customer_id).where(
                BirthdaySend.campaign_slug == campaign_slug,
                BirthdaySend.year == year,
                BirthdaySend.state == SENT,
            )
        )
    )


def send_at_of(campaign: CampaignSpec) -> time:
    """The local time of day the campaign's birthday texts go out."""
    return time.fromisoformat(campaign.option("send_at") or DEFAULT_SEND_AT)


def due_birthday_runs(
    campaigns: Iterable[CampaignSpec], now: datetime, default_region: str
) -> list[tuple[str, date]]:
    """The (campaign, local date) runs due at `now`: active birthday campaigns past send_at.

    The scheduler asks this every few minutes; `claim_birthday_run` makes each happen once.
    """
    due = []
    for campaign in campaigns:
        if campaign.action != "birthday" or not campaign.active:
            continue
        local = now.astimezone(campaign_zone(campaign, default_region))
        if local.time() >= send_at_of(campaign):
            due.append((campaign.slug, local.date()))
    return due


def claim_birthday_run(db: Session, campaign_slug: str, day: date, now: datetime) -> bool:
    """Record the scheduler's run for (campaign, date); False when it already happened."""
    return insert_ignoring_duplicates(
        db,
        BirthdayRun.__table__,
        {"campaign_slug": campaign_slug, "run_date": day, "started_at": now},
    )


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
        self._coupons = coupons  # the worker's: the full Talon.One timeout
        self._talon = talon
        self._outbox = outbox
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
                    state, detail = WAITING, self._quiet_until(customer.phone_e164)
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
            _write_unsent(
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
            _update_unsent(
                db,
                campaign_slug,
                customer_id,
                day,
                {"state": state, "detail": detail or None, "updated_at": self._clock()},
            )

    def send_birthday(self, campaign_slug: str, customer_id: str, day_iso: str) -> BirthdayResult:
        """Send one customer's birthday coupon for the day `day_iso` (YYYY-MM-DD), at most once.

        Plain values in and out, so a queued job can call it; safe to call again.
        """
        day = date.fromisoformat(day_iso)
        campaign = self._campaigns.by_slug(campaign_slug)
        if campaign is None or campaign.action != "birthday":
            return BirthdayResult(campaign_slug, customer_id, "", SKIPPED, "no such campaign")
        with self._sessions() as db:
            customer = db.execute(
                select(Customer.phone_e164, Customer.first_name, Customer.birthday).where(
                    Customer.customer_id == customer_id
                )
            ).first()
            if customer is None or customer.birthday is None:
                return BirthdayResult(campaign_slug, customer_id, "", SKIPPED, "not in directory")
            masked = mask_phone(customer.phone_e164)
            if not is_birthday(customer.birthday, day):
                return BirthdayResult(campaign_slug, customer_id, masked, SKIPPED, "not today")
            reason = skip_reasons(db, [customer.phone_e164]).get(customer.phone_e164)
            if reason:
                return BirthdayResult(campaign_slug, customer_id, masked, SKIPPED, reason)
            if customer_id in sent_this_year(db, campaign_slug, day.year):
                return BirthdayResult(campaign_slug, customer_id, masked, ALREADY_SENT)
        now = self._clock()
        send_after = next_send_time(customer.phone_e164, now, self._quiet_hours)
        if send_after > now:
            return BirthdayResult(
                campaign_slug,
                customer_id,
                masked,
                WAITING,
                self._quiet_until(customer.phone_e164),
                send_after=send_after,
            )
        identifier = identifier_on(campaign, customer_id, "", day)
        try:
            issued = self._coupons.issue(campaign, customer_id, identifier)
        except TalonError as error:
            rejected = isinstance(error, TalonRejected)
            retry_after = None
            if isinstance(error, TalonRateLimited):
                retry_after = error.retry_after_seconds
            if isinstance(error, TalonRejected):
                log.error(
                    "talon_rejected",
                    extra={
                        "campaign": campaign_slug,
                        "status": error.status,
                        "error": error.error,
                        "request_uuid": error.request_uuid,
                    },
                )
            self._record(campaign_slug, customer_id, day, identifier, FAILED, str(error))
            return BirthdayResult(
                campaign_slug,
                customer_id,
                masked,
                FAILED,
                str(error),
                configuration_error=rejected,
                transient=not rejected,
                retry_after_seconds=retry_after,
            )
        body = render_template(
            campaign.reply,
            {
                "name": campaign.name,
                "first_name": customer.first_name or "",
                "code": issued.code,
                "expiry": issued.expires_at,
                "starts": issued.starts_at,
            },
        )
        sent = send_journey_text(
            self._outbox,
            self._sessions,
            dedupe_key=f"birthday:{campaign_slug}:{customer_id}:{day.year}",
            to_e164=customer.phone_e164,
            body=body,
            purpose="birthday",
            campaign_slug=campaign_slug,
        )
        # Handed to the outbox counts as sent: the outbox retries what Twilio could not take.
        state, detail = {
            journeys.SENT: (SENT, ""),
            journeys.QUEUED: (SENT, "Twilio busy: the worker retries the text"),
            journeys.UNCERTAIN: (SENT, "may have gone out; never sent twice"),
            journeys.ALREADY_SENT: (ALREADY_SENT, ""),
            journeys.OPTED_OUT: (SKIPPED, "opted out"),
        }.get(sent.state, (FAILED, sent.detail))
        if state in (SENT, FAILED):
            self._record(campaign_slug, customer_id, day, identifier, state, detail or None)
        if state == SENT and campaign.option("award_points"):
            assert campaign.loyalty_program_id is not None  # noqa: S101 - validated on import
            award_points_once(
                self._sessions,
                self._talon,
                campaign_slug=campaign_slug,
                customer_id=customer_id,
                loyalty_program_id=campaign.loyalty_program_id,
                points=float(campaign.option("award_points")),
                clock=self._clock,
            )
        return BirthdayResult(campaign_slug, customer_id, masked, state, detail)

    def _quiet_until(self, phone_e164: str) -> str:
        """ "quiet hours until 08:00 local" when the number is in its quiet hours now, else ""."""
        now = self._clock()
        send_after = next_send_time(phone_e164, now, self._quiet_hours)
        if send_after <= now:
            return ""
        return f"quiet hours until {send_after.astimezone(recipient_zone(phone_e164)):%H:%M} local"

    def _record(
        self,
        campaign_slug: str,
        customer_id: str,
        day: date,
        identifier: str,
        state: str,
        detail: str | None,
    ) -> None:
        """Write what became of this year's text (a sent one is never overwritten)."""
        with self._sessions.begin() as db:
            _write_unsent(
                db,
                campaign_slug,
                customer_id,
                day,
                {
                    "sent_for": day,
                    "state": state,
                    "identifier": identifier,
                    "detail": detail,
                    "updated_at": self._clock(),
                    "next_attempt_at": None,
                },
            )


def _write_unsent(
    db: Session,
    campaign_slug: str,
    customer_id: str,
    day: date,
    values: dict[str, Any],
    on_insert: dict[str, Any] | None = None,
) -> None:
    """Insert this year's row for the customer with `values` (and `on_insert`), or update the
    existing one with `values` unless its text was sent already."""
    if insert_ignoring_duplicates(
        db,
        BirthdaySend.__table__,
        {
            "campaign_slug": campaign_slug,
            "customer_id": customer_id,
            "year": day.year,
            "failures": 0,
            **(on_insert or {}),
            **values,
        },
    ):
        return
    _update_unsent(db, campaign_slug, customer_id, day, values)


def _update_unsent(
    db: Session, campaign_slug: str, customer_id: str, day: date, values: dict[str, Any]
) -> None:
    """Update this year's row for the customer, unless its text was sent already."""
    db.execute(
        update(BirthdaySend)
        .where(
            BirthdaySend.campaign_slug == campaign_slug,
            BirthdaySend.customer_id == customer_id,
            BirthdaySend.year == day.year,
            BirthdaySend.state != SENT,
        )
        .values(**values)
    )
