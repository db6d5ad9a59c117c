"""Competitions: one entry per customer by text, fair draws of winners, winner notices, export.

An entry is a row under UNIQUE (competition, customer): two texts from one number at the same
moment, even in two processes, make one entry. Entry numbers come from a per-competition
counter row whose lock hands them out in turn, so they run 1, 2, 3… without gaps.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from selfserve.campaigns import (
    COMPETITION_REPLIES,
    CampaignSpec,
    campaign_zone,
    moment_of,
    render_template,
)
from selfserve.coupons import IssuedCode
from selfserve.errors import SelfserveError
from selfserve.models import (
    CompetitionCounter,
    CompetitionEntry,
)
from selfserve.ops import insert_ignoring_duplicates

log = logging.getLogger(__name__)

ENTERED, ALREADY_ENTERED, NOT_OPEN, CLOSED = (
    "competition_entered",
    "competition_already_entered",
    "competition_not_open",
    "competition_closed",
)
BIRTHDAY_KEYWORD_REPLY = "{name}: we'll text you a gift on your birthday. Reply STOP to opt out."


class CompetitionError(SelfserveError):
    """A competition command cannot go ahead (unknown slug, not a competition, no entries)."""


@dataclass(frozen=True)
class JourneyAnswer:
    """How to answer a text to a journey campaign: a template and its values.

    `needs_code`: the answer shows the campaign's coupon ({code}), which the caller issues
    outside the database transaction, as it does for coupon campaigns.
    """

    outcome: str
    template: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    needs_code: bool = False


@dataclass(frozen=True)
class Entry:
    """An entry as recorded: the competition's own sequence number, and whether it is new."""

    entry_number: int
    is_new: bool


def answer_journey_text(
    db: Session,
    campaign: CampaignSpec,
    phone_e164: str,
    customer_id: str,
    now: datetime,
    default_region: str,
) -> JourneyAnswer:
    """Answer a text to a competition (enter it) or to a birthday campaign's keyword."""
    if campaign.action == "birthday":
        return JourneyAnswer("birthday_keyword", BIRTHDAY_KEYWORD_REPLY)
    return answer_competition_text(db, campaign, phone_e164, customer_id, now, default_region)


def answer_competition_text(
    db: Session,
    campaign: CampaignSpec,
    phone_e164: str,
    customer_id: str,
    now: datetime,
    default_region: str,
    channel: str = "sms",
) -> JourneyAnswer:
    """Enter the customer if the competition is open; the reply says what happened.

    The same entry whichever way the customer came (a text, or the landing page: `channel`).
    """
    zone = campaign_zone(campaign, default_region)
    opens = campaign_moment(campaign, "opens_at", zone)
    closes = campaign_moment(campaign, "closes_at", zone, end=True)
    times = {"opens": opens, "closes": closes}
    if opens is not None and now < opens:
        return JourneyAnswer(NOT_OPEN, reply_template(campaign, "not_open_reply"), times)
    if closes is not None and now >= closes:
        return JourneyAnswer(CLOSED, reply_template(campaign, "closed_reply"), times)
    entry = enter_competition(db, campaign.slug, customer_id, phone_e164, now=now, channel=channel)
    if entry.is_new:
        outcome, template = ENTERED, campaign.reply
    else:
        outcome, template = ALREADY_ENTERED, reply_template(campaign, "already_entered_reply")
    return JourneyAnswer(
        outcome,
        template,
        {**times, "entry_number": entry.entry_number},
        needs_code=bool(campaign.option("also_coupon")),
    )


def entry_fields(
    db: Session, campaign: CampaignSpec, customer_id: str, default_region: str
) -> dict[str, Any]:
    """The reply values of a customer's entry ({entry_number}, {opens}, {closes})."""
    zone = campaign_zone(campaign, default_region)
    number = db.scalar(
        select(CompetitionEntry.entry_number).where(
            CompetitionEntry.campaign_slug == campaign.slug,
            CompetitionEntry.customer_id == customer_id,
        )
    )
    return {
        "entry_number": number if number is not None else "",
        "opens": campaign_moment(campaign, "opens_at", zone),
        "closes": campaign_moment(campaign, "closes_at", zone, end=True),
    }


def entry_reply(
    db: Session,
    campaign: CampaignSpec,
    customer_id: str,
    issued: IssuedCode,
    first_name: str,
    default_region: str,
) -> str:
    """A competition's entry reply with its code (for a code the worker texts later)."""
    return render_template(
        campaign.reply,
        {
            "name": campaign.name,
            "first_name": first_name,
            **entry_fields(db, campaign, customer_id, default_region),
            "code": issued.code,
            "expiry": issued.expires_at,
            "starts": issued.starts_at,
        },
    )


def reply_template(campaign: CampaignSpec, name: str) -> str:
    """One of a competition's answers: the campaign's own, or the default.

    With also_coupon, the default "already in" answer repeats the customer's code.
    """
    own = campaign.option(name)
    if own:
        return own
    if name == "already_entered_reply" and campaign.option("also_coupon"):
        return COMPETITION_REPLIES[name] + " Your code: {code}."
    return COMPETITION_REPLIES[name]


def enter_competition(
    db: Session,
    campaign_slug: str,
    customer_id: str,
    phone_e164: str,
    *,
    now: datetime,
    channel: str = "sms",
) -> Entry:
    """Record the customer's entry, or find the one they already have.

    The counter row is locked (UPDATE) before the entry is inserted, so entries of one
    competition are numbered one at a time; a duplicate gives its number back while it
    still holds the lock, leaving no gap.
    """
    insert_ignoring_duplicates(
        db, CompetitionCounter.__table__, {"campaign_slug": campaign_slug, "last_entry_number": 0}
    )
    number = db.execute(
        update(CompetitionCounter)
        .where(CompetitionCounter.campaign_slug == campaign_slug)
        .values(last_entry_number=CompetitionCounter.last_entry_number + 1)
        .returning(CompetitionCounter.last_entry_number)
    ).scalar_one()
    inserted = insert_ignoring_duplicates(
        db,
        CompetitionEntry.__table__,
        {
            "campaign_slug": campaign_slug,
            "customer_id": customer_id,
            "phone_e164": phone_e164,
            "entry_number": number,
            "entered_at": now,
            "channel": channel,
        },
    )
    if inserted:
        return Entry(number, is_new=True)
    return Entry(_give_back(db, campaign_slug, customer_id), is_new=False)


def _give_back(db: Session, campaign_slug: str, customer_id: str) -> int:
    """A duplicate entry: return the number taken (no gap) and find the customer's own."""
    db.execute(
        update(CompetitionCounter)
        .where(CompetitionCounter.campaign_slug == campaign_slug)
        .values(last_entry_number=CompetitionCounter.last_entry_number - 1)
    )
    existing = db.scalar(
        select(CompetitionEntry.entry_number).where(
            CompetitionEntry.campaign_slug == campaign_slug,
            CompetitionEntry.customer_id == customer_id,
        )
    )
    if existing is None:  # pragma: no cover - the UNIQUE constraint said it exists
        raise CompetitionError("entry vanished while it was being read")
    return existing


def count_entries(db: Session, campaign_slug: str) -> int:
    """How many customers have entered the competition."""
    return db.scalar(
        select(func.count())
        .select_from(CompetitionEntry)
        .where(CompetitionEntry.campaign_slug == campaign_slug)
    )


def campaign_moment(
    campaign: CampaignSpec, name: str, zone: Any, *, end: bool = False
) -> datetime | None:
    """A competition's opens_at/closes_at in `zone` (None when unset)."""
    stored = campaign.option(name)
    if not stored:
        return None
    return moment_of(stored, zone, end=end).astimezone(zone)
