"""Abuse refusals counted per campaign, kind and day, for the console's report page."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from selfserve.models import AbuseCount

RANGE_BLOCKED = "range_blocked"
CAP_REFUSED = "cap_refused"
CHALLENGE_FAILED = "challenge_failed"
ABUSE_KINDS = (RANGE_BLOCKED, CAP_REFUSED, CHALLENGE_FAILED)


def count_abuse(db: Session, campaign_slug: str, kind: str, day: date) -> None:
    """Add one refusal of `kind` to the campaign's count for `day` (one upsert)."""
    table = AbuseCount.__table__
    builder: Any = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
    statement = builder(table).values(campaign_slug=campaign_slug, kind=kind, day=day, count=1)
    db.execute(
        statement.on_conflict_do_update(
            index_elements=["campaign_slug", "kind", "day"],
            set_={"count": table.c.count + 1},
        )
    )


def abuse_per_day(db: Session, campaign_slug: str, days: int = 30) -> list[dict[str, Any]]:
    """The campaign's refusals, newest day first: {"day", range_blocked, cap_refused, …}."""
    rows = db.execute(
        select(AbuseCount.day, AbuseCount.kind, AbuseCount.count)
        .where(AbuseCount.campaign_slug == campaign_slug)
        .order_by(AbuseCount.day.desc())
    ).all()
    per_day: dict[date, dict[str, Any]] = {}
    for row in rows:
        entry = per_day.setdefault(row.day, {"day": row.day, **dict.fromkeys(ABUSE_KINDS, 0)})
        entry[row.kind] = entry.get(row.kind, 0) + row.count
    return list(per_day.values())[:days]
