"""Abuse-resistance tables: refusals per campaign and day, and the screens' QR keys."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from selfserve.models.base import Base, utcnow


class AbuseCount(Base):
    """How often a campaign refused abuse on one day, by kind.

    Kinds: `range_blocked` (a number range blocked for SMS pumping), `cap_refused` (a new code
    over a per-person cap), `challenge_failed` (a landing form without a valid bot challenge).
    """

    __tablename__ = "abuse_counts"

    campaign_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class ScreenKey(Base):
    """Which key generation a campaign's screen URL uses; rotating it revokes the old URL.

    The key itself is derived from SECRET_KEY and the generation, so no secret is stored.
    """

    __tablename__ = "screen_keys"

    campaign_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(default=1)
    rotated_at: Mapped[datetime] = mapped_column(default=utcnow)
