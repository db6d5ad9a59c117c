"""Birthday records: whose birthday it is, who may be texted, and what each year's text became.

Plain functions over the directory (`customers`) and the `birthday_sends`/`birthday_runs`
tables; `Birthdays` (birthdays.py) runs them and `BirthdayTexts` (birthday_texts.py) sends.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import extract, or_, select, update
from sqlalchemy.orm import Session

from selfserve.campaigns import DEFAULT_SEND_AT, CampaignSpec, campaign_zone
from selfserve.customers import marketing_channel, marketing_skip_reason
from selfserve.models import BirthdayRun, BirthdaySend, Customer
from selfserve.ops import insert_ignoring_duplicates

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
        reason = None if marketing_channel(db, phone) else marketing_skip_reason(db, phone)
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


def write_unsent(
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
    update_unsent(db, campaign_slug, customer_id, day, values)


def update_unsent(
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
