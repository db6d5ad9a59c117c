"""Customer tables: the directory, opt-outs and the marketing-consent history."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from selfserve.models.base import Base, utcnow


class Customer(Base):
    """The imported customer directory: a phone number and the brand's own customer id."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[str] = mapped_column(String(128), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    birthday: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OptOut(Base):
    """A number that texted STOP. Opting back in keeps the row with `opted_out` false."""

    __tablename__ = "opt_outs"

    phone_e164: Mapped[str] = mapped_column(String(16), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(String(32), default="keyword")


class NumberLanguage(Base):
    """The language a number last texted in (a compliance word's, or a campaign's): our own
    texts to it are worded in that language when nothing better says which."""

    __tablename__ = "number_languages"

    phone_e164: Mapped[str] = mapped_column(String(16), primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentRecord(Base):
    """One event in a number's marketing-consent history; never updated or deleted.

    The current state of a number is its newest record. A revoke is a new record, so the trail
    shows who agreed to what wording, when, how and from where.
    """

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_phone_recorded", "phone_e164", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # consented | pending | revoked
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    method: Mapped[str] = mapped_column(String(16))  # import | keyword | web
    campaign_slug: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    wording: Mapped[str] = mapped_column(Text)
    # Consent is per channel: a WhatsApp double opt-in is its own record (sms | whatsapp).
    channel: Mapped[str] = mapped_column(String(16), default="sms", server_default="sms")


class WhatsAppContact(Base):
    """A person who wrote to us on WhatsApp: their 24-hour window and their WhatsApp opt-out.

    `person` is the E.164 number, or for a business-scoped user id (no number) a key of our
    own (`wa.` + 13 characters, customers/whatsapp.py) that fits every phone column;
    `address` is what follows `whatsapp:` when we write to them. Opting out here stops
    WhatsApp only; SMS keeps its own register (`opt_outs`).
    """

    __tablename__ = "whatsapp_contacts"

    person: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(160))
    last_inbound_at: Mapped[datetime | None]
    opted_out: Mapped[bool] = mapped_column(default=False)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(String(32))
