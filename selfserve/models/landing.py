"""Landing-page tables: one-time phone codes and visits per poster location."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from selfserve.models.base import Base, utcnow


class PhoneVerification(Base):
    """A one-time code sent to prove a landing-page visitor owns a number.

    Only an HMAC of the code is kept. `token` is the random handle the visitor's session holds,
    so the number never travels in a URL. Rows are purged a day after they are created.
    """

    __tablename__ = "phone_verifications"
    __table_args__ = (
        Index("ix_phone_verifications_phone_campaign", "phone_e164", "campaign_slug"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    campaign_slug: Mapped[str] = mapped_column(String(64))
    phone_e164: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]
    # The visitor ticked "Send me offers by SMS" on the number form: consent is recorded
    # once this code is confirmed, never before (selfserve.customers.consent.record_web_consent).
    wants_offers: Mapped[bool] = mapped_column(default=False, server_default=false())


class LandingVisit(Base):
    """How many times a campaign's landing page was opened, per poster location and day."""

    __tablename__ = "landing_visits"

    campaign_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)  # "" = no src
    day: Mapped[date] = mapped_column(primary_key=True)
    visits: Mapped[int] = mapped_column(default=0)
