"""The console's consent report: marketing consent per campaign and source, counted only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from selfserve.customers import IMPORT_SOURCE, ConsentState
from selfserve.models import ConsentRecord


@dataclass(frozen=True)
class ConsentCount:
    """Numbers whose newest consent record names one campaign and source, by its state."""

    campaign_slug: str | None  # None: not from a campaign (the imported directory)
    source: str  # the poster's src, IMPORT_SOURCE, or "" when there was none
    consented: int
    pending: int
    revoked: int


def consent_counts(db: Session) -> list[ConsentCount]:
    """Every number counted once, by its newest consent record, per campaign and source.

    One statement: a window over the trail picks each number's newest record (the
    (phone, recorded_at) index orders it), then the database groups and counts; no row
    reaches Python. Sorted by campaign (the directory's import last), then source.
    """
    newest = select(
        ConsentRecord.campaign_slug,
        case(
            # Records imported before imports were given a source still count as imports.
            (
                and_(ConsentRecord.source.is_(None), ConsentRecord.method == "import"),
                IMPORT_SOURCE,
            ),
            else_=func.coalesce(ConsentRecord.source, ""),
        ).label("source"),
        ConsentRecord.state,
        func.row_number()
        .over(
            partition_by=ConsentRecord.phone_e164,
            order_by=(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc()),
        )
        .label("newness"),
    ).subquery()

    def numbers_in(state: ConsentState) -> Any:
        return func.coalesce(func.sum(case((newest.c.state == str(state), 1), else_=0)), 0)

    rows = db.execute(
        select(
            newest.c.campaign_slug,
            newest.c.source,
            numbers_in(ConsentState.CONSENTED).label("consented"),
            numbers_in(ConsentState.PENDING).label("pending"),
            numbers_in(ConsentState.REVOKED).label("revoked"),
        )
        .where(newest.c.newness == 1)
        .group_by(newest.c.campaign_slug, newest.c.source)
    ).all()
    counts = [
        ConsentCount(
            row.campaign_slug, row.source, int(row.consented), int(row.pending), int(row.revoked)
        )
        for row in rows
    ]
    return sorted(
        counts,
        key=lambda count: (count.campaign_slug is None, count.campaign_slug or "", count.source),
    )
