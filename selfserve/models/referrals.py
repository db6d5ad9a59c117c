"""Referral and data-rights tables: advocates' codes, friends' uses, erasures and their proof."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from selfserve.models.base import Base, utcnow


class ReferralCode(Base):
    """An advocate's referral code in one referral campaign: asked of Talon.One once, kept.

    `code_key` is the code as a friend may type it, normalised (upper case, letters and digits
    only), so "ab12 cd34" finds "AB12-CD34". The advocate's number is kept to text them when
    a friend joins (only with marketing consent).
    """

    __tablename__ = "referral_codes"
    __table_args__ = (
        UniqueConstraint(
            "campaign_slug", "advocate_customer_id", name="uq_referral_codes_advocate"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_slug: Mapped[str] = mapped_column(String(64))
    advocate_customer_id: Mapped[str] = mapped_column(String(128), index=True)
    phone_e164: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(128))
    code_key: Mapped[str] = mapped_column(String(128), unique=True)
    talon_referral_id: Mapped[int | None] = mapped_column(BigInteger)
    starts_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    usage_limit: Mapped[int]
    # Friends holding a place: counted up with the use's row under `uses < usage_limit`,
    # before Talon.One is asked, so two friends at once cannot pass the limit.
    uses: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferralUse(Base):
    """A friend who redeemed a referral code here: once per code and friend. `points_state`
    is the advocate's points for it (none, claimed, awarded, failed, uncertain)."""

    __tablename__ = "referral_uses"
    __table_args__ = (
        UniqueConstraint("referral_code_id", "friend_customer_id", name="uq_referral_uses_friend"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_code_id: Mapped[int] = mapped_column(
        ForeignKey("referral_codes.id", ondelete="CASCADE"), index=True
    )
    friend_customer_id: Mapped[str] = mapped_column(String(128), index=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
    points_state: Mapped[str] = mapped_column(String(16), default="none")


class ErasureRequest(Base):
    """A FORGET ME waiting for its FORGET (10 minutes); deleted when confirmed or erased."""

    __tablename__ = "erasure_requests"

    phone_e164: Mapped[str] = mapped_column(String(16), primary_key=True)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)


class Erasure(Base):
    """Proof that an erasure was done: when, how, and how many rows of which tables.
    Never the number: that is what was erased."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)
    method: Mapped[str] = mapped_column(String(16))  # sms | cli
    row_counts: Mapped[str] = mapped_column(Text)  # JSON: table → rows deleted or rewritten
