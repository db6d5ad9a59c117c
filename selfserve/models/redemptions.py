"""Redemption tables: which of our codes Talon.One saw accepted at a till, and how far we read.

Talon.One sends no "coupon redeemed" notification; the redemption sync
(selfserve/coupons/redemptions.py) reads its triggered effects and keeps them here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selfserve.models.base import Base, utcnow


class CouponRedemption(Base):
    """One of our codes accepted in one Talon.One session (`acceptCoupon`), maybe undone.

    One row per (issued code, session): reading the same effects twice, or an accept and
    its rollback in either order, always leaves one row, so nothing is counted twice. A
    `rollbackCoupon` later than the accept sets `rolled_back_at`; an accept later than the
    rollback (the session closed again) clears it.
    """

    __tablename__ = "coupon_redemptions"
    __table_args__ = (
        UniqueConstraint("issued_coupon_id", "session_integration_id"),
        Index("ix_coupon_redemptions_redeemed_at", "redeemed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issued_coupon_id: Mapped[int] = mapped_column(index=True)
    session_integration_id: Mapped[str] = mapped_column(String(255), default="")
    redeemed_at: Mapped[datetime]
    rolled_back_at: Mapped[datetime | None]
    total_revenue: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    talon_campaign_id: Mapped[int | None]
    event_type: Mapped[str | None] = mapped_column(String(64))
    store_integration_id: Mapped[str | None] = mapped_column(String(255))
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class RedemptionCursor(Base):
    """How far the sync has read one Talon.One application's effects for one campaign."""

    __tablename__ = "redemption_cursors"

    application_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    talon_campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    read_until: Mapped[datetime]  # every effect created before this has been read
    first_read_from: Mapped[datetime]  # the data since: the earliest effect time asked for
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
