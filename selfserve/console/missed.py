"""Texts found too late: inbound texts only Twilio had, past RECONCILE_MAX_AGE_MINUTES.

`texts reconcile` records them in the message log as `missed` instead of answering them
(texts/reconcile.py); the dashboard shows how many and the latest, /metrics counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from selfserve.models import MISSED_STATE, InboundMessage


@dataclass(frozen=True)
class MissedText:
    """One text nobody answered: when it was sent, from whom (masked), to which number."""

    sent_at: datetime
    phone_masked: str
    to_number: str


@dataclass(frozen=True)
class MissedTexts:
    """How many texts were missed, and the latest few."""

    count: int
    latest: list[MissedText]


def missed_texts(db: Session, limit: int = 5) -> MissedTexts:
    """The missed texts' count and the `limit` latest."""
    missed = InboundMessage.state == MISSED_STATE
    count = db.scalar(select(func.count()).select_from(InboundMessage).where(missed)) or 0
    rows = db.execute(
        select(InboundMessage.received_at, InboundMessage.phone_masked, InboundMessage.to_number)
        .where(missed)
        .order_by(InboundMessage.received_at.desc())
        .limit(limit)
    ).all()
    return MissedTexts(count, [MissedText(row[0], row[1], row[2] or "") for row in rows])
