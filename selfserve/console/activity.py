"""The console's dashboard: texts per campaign and what came of them, today and in total.

Read-only counts over the message log (`inbound_messages`). The outcome groups below also say
which outcomes the message log's filters always offer and what the statistics count as a code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from selfserve.campaigns import CampaignSpec
from selfserve.models import InboundMessage

# How the outcomes the text flow records add up on the dashboard. Outcomes not named here
# (help, opted_out, unknown_keyword…) count as texts only.
ISSUED_OUTCOMES = ("code_issued",)
RESENT_OUTCOMES = ("code_resent",)
BALANCE_OUTCOMES = ("loyalty_balance",)
SUBSCRIBED_OUTCOMES = ("subscribed",)
DEFERRED_OUTCOMES = ("deferred",)
FAILED_OUTCOMES = ("failed", "talon_unavailable", "talon_rejected", "code_failed")


@dataclass(frozen=True)
class Activity:
    """Counts of texts and what came of them, today (UTC) and in total."""

    texts_today: int = 0
    texts_total: int = 0
    codes_today: int = 0
    codes_issued: int = 0
    codes_resent: int = 0
    balances: int = 0
    subscribed: int = 0
    deferred: int = 0
    failed: int = 0
    failed_today: int = 0


@dataclass(frozen=True)
class CampaignActivity:
    """One dashboard row: a campaign, its keywords and its activity."""

    slug: str
    name: str
    action: str
    active: bool
    keywords: tuple[str, ...]
    activity: Activity


@dataclass(frozen=True)
class Dashboard:
    """Every campaign's activity, plus the totals over all texts (matched or not)."""

    campaigns: list[CampaignActivity]
    totals: Activity
    unmatched: Activity


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def dashboard(db: Session, campaigns: Sequence[CampaignSpec], now: datetime) -> Dashboard:
    """Activity per campaign (every campaign, even one nobody has texted yet) and overall."""
    today = start_of_day(now.astimezone(UTC).date())
    is_today = InboundMessage.received_at >= today

    def count_where(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    rows = db.execute(
        select(
            InboundMessage.campaign_slug,
            count_where(is_today).label("texts_today"),
            func.count().label("texts_total"),
            count_where(and_(is_today, InboundMessage.outcome.in_(ISSUED_OUTCOMES))).label(
                "codes_today"
            ),
            count_where(InboundMessage.outcome.in_(ISSUED_OUTCOMES)).label("codes_issued"),
            count_where(InboundMessage.outcome.in_(RESENT_OUTCOMES)).label("codes_resent"),
            count_where(InboundMessage.outcome.in_(BALANCE_OUTCOMES)).label("balances"),
            count_where(InboundMessage.outcome.in_(SUBSCRIBED_OUTCOMES)).label("subscribed"),
            count_where(InboundMessage.outcome.in_(DEFERRED_OUTCOMES)).label("deferred"),
            count_where(InboundMessage.outcome.in_(FAILED_OUTCOMES)).label("failed"),
            count_where(and_(is_today, InboundMessage.outcome.in_(FAILED_OUTCOMES))).label(
                "failed_today"
            ),
        ).group_by(InboundMessage.campaign_slug)
    ).all()
    by_slug = {row.campaign_slug: _activity(row) for row in rows}
    totals = Activity(
        **{
            name: sum(getattr(activity, name) for activity in by_slug.values())
            for name in Activity.__dataclass_fields__
        }
    )
    return Dashboard(
        campaigns=[
            CampaignActivity(
                slug=spec.slug,
                name=spec.name,
                action=spec.action,
                active=spec.active,
                keywords=spec.keywords,
                activity=by_slug.get(spec.slug, Activity()),
            )
            for spec in campaigns
        ],
        totals=totals,
        unmatched=by_slug.get(None, Activity()),
    )


def _activity(row: Any) -> Activity:
    return Activity(**{name: int(getattr(row, name)) for name in Activity.__dataclass_fields__})
