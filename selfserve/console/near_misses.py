"""Near misses: what people texted that was not a keyword exactly, and how it was matched.

A marketer reads them on the campaign's page to add an alias (SPRNG is common? add it).
Ambiguous texts are shown on every campaign they were asked about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from selfserve.campaigns import CampaignSpec
from selfserve.models import InboundMessage

WINDOW = timedelta(days=30)
SHOWN = 50


@dataclass(frozen=True)
class NearMiss:
    """One thing people texted, how often, and how it was taken."""

    keyword: str  # the campaign keyword it was taken for ("" when asked about)
    texted: str
    matched_by: str
    count: int


def recent_near_misses(db: Session, campaign: CampaignSpec, now: datetime) -> list[NearMiss]:
    """The campaign's near misses of the last 30 days, most frequent first."""
    messages = InboundMessage
    count = func.count().label("count")
    asked_about = [messages.reply.contains(keyword) for keyword in campaign.keywords]
    rows = db.execute(
        select(messages.keyword, messages.texted, messages.matched_by, count)
        .where(messages.received_at >= now - WINDOW, messages.texted.is_not(None))
        .where(
            or_(
                messages.campaign_slug == campaign.slug,
                (messages.matched_by == "ambiguous") & or_(*asked_about),
            )
        )
        .group_by(messages.keyword, messages.texted, messages.matched_by)
        .order_by(count.desc(), messages.texted)
        .limit(SHOWN)
    ).all()
    return [
        NearMiss(
            row.keyword if row.matched_by != "ambiguous" else "",
            row.texted,
            row.matched_by,
            row.count,
        )
        for row in rows
    ]
