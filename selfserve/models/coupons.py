"""Coupon tables: codes Talon.One gave us, and codes still owed after an outage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from selfserve.models.base import Base, utcnow


class IssuedCoupon(Base):
    """A code Talon.One gave us for one identifier: asked for once, kept for good."""

    __tablename__ = "issued_coupons"
    __table_args__ = (
        UniqueConstraint("campaign_slug", "identifier"),
        # The redemption sync finds our code by the value Talon.One reports.
        Index("ix_issued_coupons_code", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_slug: Mapped[str] = mapped_column(String(64))
    identifier: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    code: Mapped[str] = mapped_column(String(128))
    talon_coupon_id: Mapped[int | None] = mapped_column(BigInteger)  # Talon.One ids grow
    starts_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The code page's token (/c/<token>): a keyed MAC of (campaign, identifier), stored so a
    # page can find its row; the owed code's row carries the same one (coupons/code_pages.py).
    code_token: Mapped[str | None] = mapped_column(String(16), unique=True)
    # Fetched ahead by a warm-up (`campaigns warm`) and not yet asked for: the customer's
    # first ask counts as the code being issued (message log, reports), not the warm-up.
    warm: Mapped[bool] = mapped_column(default=False, server_default=false())
    # First touch, for the redemption reports: how the code reached its customer (text,
    # landing, referral, birthday, warm-up), the keyword texted and the poster's `src`.
    channel: Mapped[str | None] = mapped_column(String(16))
    keyword: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))


class WarmUp(Base):
    """The latest warm-up of one campaign: how far it got, for the console and a resume.

    The codes themselves are `issued_coupons` rows; this row only counts them, so losing it
    loses nothing (the next run counts again).
    """

    __tablename__ = "warm_ups"

    campaign_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # queued, running, done, stopped, failed
    total: Mapped[int] = mapped_column(default=0)  # directory customers (or the segment's)
    warmed: Mapped[int] = mapped_column(default=0)  # of those, with a code ready
    calls: Mapped[int] = mapped_column(default=0)  # Talon.One calls this run made
    budget_share: Mapped[float] = mapped_column(default=0.5)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[str | None] = mapped_column(Text)


class DeferredCode(Base):
    """A coupon owed to a customer whom Talon.One could not serve in time: sent later by SMS.

    One row per campaign and identifier, so texting again during an outage owes one code,
    not several. The worker claims a row by its `attempts` counter (a stale copy of a job
    finds the counter moved on and stops) and a lease, which a restarted worker waits out.
    """

    __tablename__ = "deferred_codes"
    __table_args__ = (
        UniqueConstraint("campaign_slug", "identifier"),
        Index("ix_deferred_codes_state_next", "state", "next_attempt_at"),
        # A new customer's one read asks whether anything is owed to them (fast_path.py).
        Index("ix_deferred_codes_customer_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    message_sid: Mapped[str] = mapped_column(String(64))
    campaign_slug: Mapped[str] = mapped_column(String(64))
    identifier: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[str] = mapped_column(String(128))
    phone_e164: Mapped[str] = mapped_column(String(16))
    # The channel the code was asked on (sms | whatsapp): it goes back the same way.
    channel: Mapped[str] = mapped_column(String(16), default="sms", server_default="sms")
    keyword: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    outbound_id: Mapped[int | None]
    detail: Mapped[str | None] = mapped_column(Text)
    code_token: Mapped[str | None] = mapped_column(String(16), unique=True)
    # What is owed: "coupon" (the campaign's coupon), "referral_code" (an advocate's
    # referral code: `identifier` is their customer id) or "referral_coupon" (a referred
    # friend's coupon, created with the code of `referral_code_id` as `.referralCode`).
    kind: Mapped[str] = mapped_column(String(16), default="coupon", server_default="coupon")
    referral_code_id: Mapped[int | None]
