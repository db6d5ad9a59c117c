"""Competitions: one entry per customer by text, fair draws of winners, winner notices, export.

An entry is a row under UNIQUE (competition, customer): two texts from one number at the same
moment, even in two processes, make one entry. Entry numbers come from a per-competition
counter row whose lock hands them out in turn, so they run 1, 2, 3… without gaps.
"""

from __future__ import annotations

import csv
import io
import logging
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import (
    COMPETITION_REPLIES,
    CampaignSpec,
    campaign_zone,
    moment_of,
    render_template,
)
from selfserve.coupons import IssuedCode
from selfserve.customers import mask_phone
from selfserve.errors import SelfserveError
from selfserve.journeys.sends import JourneySend, send_journey_text
from selfserve.models import (
    CompetitionCounter,
    CompetitionDraw,
    CompetitionEntry,
    CompetitionWinner,
    Customer,
)
from selfserve.ops import insert_ignoring_duplicates
from selfserve.sms import Outbox

log = logging.getLogger(__name__)

ENTERED, ALREADY_ENTERED, NOT_OPEN, CLOSED = (
    "competition_entered",
    "competition_already_entered",
    "competition_not_open",
    "competition_closed",
)
BIRTHDAY_KEYWORD_REPLY = "{name}: we'll text you a gift on your birthday. Reply STOP to opt out."
T = TypeVar("T")


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


@dataclass(frozen=True)
class Winner:
    """A drawn entry, in draw order."""

    position: int
    entry_number: int
    customer_id: str
    phone_e164: str


@dataclass(frozen=True)
class Draw:
    """A recorded draw and its winners."""

    draw_id: int
    campaign_slug: str
    entries_count: int
    method: str
    seed: str | None
    winners: tuple[Winner, ...]


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
    opens = _moment(campaign, "opens_at", zone)
    closes = _moment(campaign, "closes_at", zone, end=True)
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
        "opens": _moment(campaign, "opens_at", zone),
        "closes": _moment(campaign, "closes_at", zone, end=True),
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
    return Entry(existing, is_new=False)


def pick_winners(entries: Sequence[T], count: int, rng: random.Random) -> list[T]:
    """Choose `count` distinct entries uniformly at random (all of them if there are fewer)."""
    return rng.sample(list(entries), min(count, len(entries)))


def draw_method(seed: str | None) -> tuple[random.Random, str]:
    """The random source of a draw: the OS's secure one, or a seeded one for a redraw."""
    if seed is None:
        return secrets.SystemRandom(), "SystemRandom"
    return random.Random(seed), "Random(seed)"


def draw_winners(
    db: Session, campaign: CampaignSpec, winners: int, seed: str | None, now: datetime
) -> Draw:
    """Draw winners among the competition's entries and record the draw.

    Entries are taken in entry-number order, so the same seed over the same entries draws
    the same winners (an auditable redraw). Raises CompetitionError when there is nothing
    to draw from.
    """
    if campaign.action != "competition":
        raise CompetitionError(
            f"{campaign.slug} is a {campaign.action} campaign, not a competition"
        )
    if winners < 1:
        raise CompetitionError("draw at least one winner")
    entries = db.execute(
        select(
            CompetitionEntry.id,
            CompetitionEntry.entry_number,
            CompetitionEntry.customer_id,
            CompetitionEntry.phone_e164,
        )
        .where(CompetitionEntry.campaign_slug == campaign.slug)
        .order_by(CompetitionEntry.entry_number)
    ).all()
    if not entries:
        raise CompetitionError(f"{campaign.slug} has no entries to draw from")
    rng, method = draw_method(seed)
    chosen = pick_winners(entries, winners, rng)
    draw = CompetitionDraw(
        campaign_slug=campaign.slug,
        drawn_at=now,
        winners_requested=winners,
        entries_count=len(entries),
        method=method,
        seed=seed,
    )
    db.add(draw)
    db.flush()
    for position, entry in enumerate(chosen, start=1):
        db.add(CompetitionWinner(draw_id=draw.id, entry_id=entry.id, position=position))
    db.flush()
    log.info(
        "competition_drawn",
        extra={
            "campaign": campaign.slug,
            "draw_id": draw.id,
            "entries": len(entries),
            "winners": len(chosen),
            "method": method,
        },
    )
    return Draw(
        draw.id,
        campaign.slug,
        len(entries),
        method,
        seed,
        tuple(
            Winner(position, entry.entry_number, entry.customer_id, entry.phone_e164)
            for position, entry in enumerate(chosen, start=1)
        ),
    )


def notify_winners(
    outbox: Outbox,
    sessions: sessionmaker[Session],
    campaign: CampaignSpec,
    draw: Draw,
    default_region: str,
) -> list[tuple[Winner, JourneySend]]:
    """Text each winner the campaign's winner_message, once per customer and competition.

    Winner notices answer the customer's own entry, so they are not marketing; opted-out
    numbers are still never texted.
    """
    zone = campaign_zone(campaign, default_region)
    closes = _moment(campaign, "closes_at", zone, end=True)
    template = reply_template(campaign, "winner_message")
    with sessions() as db:
        first_names = dict(
            db.execute(
                select(Customer.customer_id, Customer.first_name).where(
                    Customer.customer_id.in_([w.customer_id for w in draw.winners])
                )
            ).all()
        )
    results = []
    for winner in draw.winners:
        body = render_template(
            template,
            {
                "name": campaign.name,
                "first_name": first_names.get(winner.customer_id) or "",
                "entry_number": winner.entry_number,
                "closes": closes,
            },
        )
        sent = send_journey_text(
            outbox,
            sessions,
            dedupe_key=f"winner:{campaign.slug}:{winner.customer_id}",
            to_e164=winner.phone_e164,
            body=body,
            purpose="competition_winner",
            campaign_slug=campaign.slug,
        )
        results.append((winner, sent))
    return results


def count_entries(db: Session, campaign_slug: str) -> int:
    """How many customers have entered the competition."""
    return db.scalar(
        select(func.count())
        .select_from(CompetitionEntry)
        .where(CompetitionEntry.campaign_slug == campaign_slug)
    )


@dataclass(frozen=True)
class CompetitionSummary:
    """A competition at a glance, for the console: entries, closing time, the latest draw."""

    slug: str
    name: str
    active: bool
    entries: int
    closes_at: str | None
    draws: int
    last_drawn_at: datetime | None
    last_draw_winners: int


def competition_summaries(
    db: Session, campaigns: Sequence[CampaignSpec]
) -> list[CompetitionSummary]:
    """Every competition campaign with its entry count and latest draw (three queries)."""
    competitions = [c for c in campaigns if c.action == "competition"]
    if not competitions:
        return []
    slugs = [c.slug for c in competitions]
    entries = dict(
        db.execute(
            select(CompetitionEntry.campaign_slug, func.count())
            .where(CompetitionEntry.campaign_slug.in_(slugs))
            .group_by(CompetitionEntry.campaign_slug)
        ).all()
    )
    draws: dict[str, tuple[int, datetime, int]] = {}
    for row in db.execute(
        select(
            CompetitionDraw.campaign_slug,
            CompetitionDraw.drawn_at,
            func.count(CompetitionWinner.id).label("winners"),
        )
        .outerjoin(CompetitionWinner)
        .where(CompetitionDraw.campaign_slug.in_(slugs))
        .group_by(CompetitionDraw.id, CompetitionDraw.campaign_slug, CompetitionDraw.drawn_at)
        .order_by(CompetitionDraw.id)
    ):
        count = draws.get(row.campaign_slug, (0, row.drawn_at, 0))[0] + 1
        draws[row.campaign_slug] = (count, row.drawn_at, row.winners)
    summaries = []
    for campaign in competitions:
        count, drawn_at, winners = draws.get(campaign.slug, (0, None, 0))
        summaries.append(
            CompetitionSummary(
                slug=campaign.slug,
                name=campaign.name,
                active=campaign.active,
                entries=entries.get(campaign.slug, 0),
                closes_at=campaign.option("closes_at"),
                draws=count,
                last_drawn_at=drawn_at,
                last_draw_winners=winners,
            )
        )
    return summaries


EXPORT_COLUMNS = ("entry_number", "entered_at", "customer_id", "phone", "channel", "won_in_draws")


def export_entries(db: Session, campaign_slug: str, *, reveal: bool) -> tuple[str, int]:
    """The competition's entries as CSV text, and how many; numbers masked unless `reveal`."""
    wins: dict[int, list[str]] = {}
    for entry_id, draw_id in db.execute(
        select(CompetitionWinner.entry_id, CompetitionWinner.draw_id)
        .join(CompetitionDraw)
        .where(CompetitionDraw.campaign_slug == campaign_slug)
        .order_by(CompetitionWinner.draw_id)
    ):
        wins.setdefault(entry_id, []).append(str(draw_id))
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for entry in db.scalars(
        select(CompetitionEntry)
        .where(CompetitionEntry.campaign_slug == campaign_slug)
        .order_by(CompetitionEntry.entry_number)
    ):
        writer.writerow(
            (
                entry.entry_number,
                entry.entered_at.isoformat(timespec="seconds"),
                entry.customer_id,
                entry.phone_e164 if reveal else mask_phone(entry.phone_e164),
                entry.channel,
                ";".join(wins.get(entry.id, [])),
            )
        )
        count += 1
    return output.getvalue(), count


def _moment(campaign: CampaignSpec, name: str, zone: Any, *, end: bool = False) -> datetime | None:
    stored = campaign.option(name)
    if not stored:
        return None
    return moment_of(stored, zone, end=end).astimezone(zone)
