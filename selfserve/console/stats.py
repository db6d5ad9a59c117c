"""The console's statistics: texts and codes per UTC day and per poster source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from selfserve.console.activity import ISSUED_OUTCOMES, start_of_day
from selfserve.models import InboundMessage

DIRECT_SOURCE = ""  # texts typed by hand, not from a tracked QR poster


@dataclass(frozen=True)
class DayCount:
    """Texts received and codes issued on one day (UTC)."""

    day: date
    texts: int
    codes: int


@dataclass(frozen=True)
class SourceCount:
    """Texts and codes from one poster location (`src`), or typed by hand (DIRECT_SOURCE)."""

    source: str
    texts: int
    codes: int


@dataclass(frozen=True)
class StatsRow:
    """One cell of the table behind the charts: a day and a source."""

    day: date
    source: str
    texts: int
    codes: int


@dataclass(frozen=True)
class Stats:
    """Texts and codes per day (every day of the window, zeros included) and per source."""

    first_day: date
    last_day: date
    days: list[DayCount]
    sources: list[SourceCount]
    rows: list[StatsRow]

    @property
    def total_texts(self) -> int:
        """Texts in the window."""
        return sum(day.texts for day in self.days)

    @property
    def total_codes(self) -> int:
        """Codes issued in the window."""
        return sum(day.codes for day in self.days)


def daily_stats(
    db: Session, now: datetime, days: int = 30, campaign_slug: str | None = None
) -> Stats:
    """Texts and new codes per UTC day and per poster source over the last `days` days."""
    days = max(1, min(days, 366))
    last_day = now.astimezone(UTC).date()
    first_day = last_day - timedelta(days=days - 1)
    day = utc_day(InboundMessage.received_at, db.bind.dialect.name).label("day")
    source = func.coalesce(InboundMessage.source, DIRECT_SOURCE).label("source")
    query = (
        select(
            day,
            source,
            func.count().label("texts"),
            func.coalesce(
                func.sum(case((InboundMessage.outcome.in_(ISSUED_OUTCOMES), 1), else_=0)), 0
            ).label("codes"),
        )
        .where(InboundMessage.received_at >= start_of_day(first_day))
        .group_by(day, source)
        .order_by(day, source)
    )
    if campaign_slug:
        query = query.where(InboundMessage.campaign_slug == campaign_slug)
    rows = [
        StatsRow(date.fromisoformat(str(row.day)), row.source, int(row.texts), int(row.codes))
        for row in db.execute(query)
    ]
    per_day: dict[date, list[int]] = {
        first_day + timedelta(days=offset): [0, 0] for offset in range(days)
    }
    per_source: dict[str, list[int]] = {}
    for row in rows:
        if row.day in per_day:
            per_day[row.day][0] += row.texts
            per_day[row.day][1] += row.codes
        counts = per_source.setdefault(row.source, [0, 0])
        counts[0] += row.texts
        counts[1] += row.codes
    return Stats(
        first_day=first_day,
        last_day=last_day,
        days=[DayCount(day, texts, codes) for day, (texts, codes) in per_day.items()],
        sources=sorted(
            (SourceCount(name, texts, codes) for name, (texts, codes) in per_source.items()),
            key=lambda counts: (-counts.texts, counts.source),
        ),
        rows=rows,
    )


def utc_day(column: Any, dialect: str) -> Any:
    """SQL for the UTC calendar day of a timestamp column, as text `YYYY-MM-DD`.

    PostgreSQL keeps an instant and would answer in the session's time zone; SQLite keeps the
    UTC text the model wrote. One function hides the difference.
    """
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)
