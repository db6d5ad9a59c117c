"""Competition draws: fair winners among the entries, winner notices, summaries, export.

A draw takes entries in entry-number order with the OS's secure random source, or a seeded
one for an auditable redraw; the draw and its winners are recorded.
"""

from __future__ import annotations

import csv
import io
import logging
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignSpec, campaign_zone, render_template
from selfserve.customers import mask_phone
from selfserve.journeys.competitions import (
    CompetitionError,
    campaign_moment,
    reply_template,
)
from selfserve.journeys.sends import JourneySend, send_journey_text
from selfserve.models import CompetitionDraw, CompetitionEntry, CompetitionWinner, Customer
from selfserve.sms import Outbox

log = logging.getLogger(__name__)

T = TypeVar("T")


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
    entries = _entries_in_order(db, campaign.slug)
    if not entries:
        raise CompetitionError(f"{campaign.slug} has no entries to draw from")
    rng, method = draw_method(seed)
    chosen = pick_winners(entries, winners, rng)
    draw_id = _record_draw(db, campaign.slug, winners, len(entries), method, seed, chosen, now)
    log.info(
        "competition_drawn",
        extra={
            "campaign": campaign.slug,
            "draw_id": draw_id,
            "entries": len(entries),
            "winners": len(chosen),
            "method": method,
        },
    )
    return Draw(
        draw_id,
        campaign.slug,
        len(entries),
        method,
        seed,
        tuple(
            Winner(position, entry.entry_number, entry.customer_id, entry.phone_e164)
            for position, entry in enumerate(chosen, start=1)
        ),
    )


def _entries_in_order(db: Session, campaign_slug: str) -> Sequence[Any]:
    """The competition's entries by entry number (so a seed redraws the same winners)."""
    return db.execute(
        select(
            CompetitionEntry.id,
            CompetitionEntry.entry_number,
            CompetitionEntry.customer_id,
            CompetitionEntry.phone_e164,
        )
        .where(CompetitionEntry.campaign_slug == campaign_slug)
        .order_by(CompetitionEntry.entry_number)
    ).all()


def _record_draw(
    db: Session,
    campaign_slug: str,
    requested: int,
    entries: int,
    method: str,
    seed: str | None,
    chosen: Sequence[Any],
    now: datetime,
) -> int:
    """Store the draw and its winners in order; returns the draw's id."""
    draw = CompetitionDraw(
        campaign_slug=campaign_slug,
        drawn_at=now,
        winners_requested=requested,
        entries_count=entries,
        method=method,
        seed=seed,
    )
    db.add(draw)
    db.flush()
    for position, entry in enumerate(chosen, start=1):
        db.add(CompetitionWinner(draw_id=draw.id, entry_id=entry.id, position=position))
    db.flush()
    return draw.id


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
    closes = campaign_moment(campaign, "closes_at", zone, end=True)
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


EXPORT_COLUMNS = ("entry_number", "entered_at", "customer_id", "phone", "channel", "won_in_draws")
