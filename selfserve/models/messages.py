"""Message tables: every text received (masked) and every text we send ourselves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from selfserve.models.base import Base, utcnow


class InboundMessage(Base):
    """One received text: claimed by MessageSid before any work, then its outcome and reply."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    phone_masked: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(128), index=True)
    to_number: Mapped[str | None] = mapped_column(String(32))
    keyword: Mapped[str | None] = mapped_column(String(64))
    campaign_slug: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="processing")
    outcome: Mapped[str | None] = mapped_column(String(32), index=True)
    reply: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    # How the keyword was found: exact | lookalike | word | typo | ambiguous (texts/matching.py)
    matched_by: Mapped[str | None] = mapped_column(String(16))
    # What was texted when it was not the keyword exactly (folded, cut to 64): the console
    # shows these near misses so a marketer can add an alias.
    texted: Mapped[str | None] = mapped_column(String(64))


class OutboundMessage(Base):
    """Every text we send ourselves (not TwiML replies): through Twilio or the sandbox outbox."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_messages_to_created", "to_e164", "created_at"),
        Index("ix_outbound_messages_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    to_e164: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(16))
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[int | None]
    campaign_slug: Mapped[str | None] = mapped_column(String(64))
    # The outbox (selfserve/sms/outbox.py): a text is recorded under its dedupe key before it is
    # sent, so it goes out at most once per key; attempts/lease let a restarted worker resume.
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    detail: Mapped[str | None] = mapped_column(Text)
    # MMS: the picture Twilio attaches (the code's barcode PNG, campaign `mms = true`).
    media_url: Mapped[str | None] = mapped_column(String(512))
    # WhatsApp (sms/whatsapp.py): the channel it goes by, and the campaign's approved Content
    # template (sid and JSON variables) for when the 24-hour window has closed.
    channel: Mapped[str] = mapped_column(String(16), default="sms", server_default="sms")
    content_sid: Mapped[str | None] = mapped_column(String(34))
    content_variables: Mapped[str | None] = mapped_column(Text)
    # Twilio refused the free-form message (63016): only the template may go now.
    template_only: Mapped[bool] = mapped_column(default=False, server_default=false())
