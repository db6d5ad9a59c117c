"""The console's per-channel counts: texts and codes by SMS and WhatsApp, and why WhatsApp
messages we sent failed (Twilio's error codes), so an operator sees a template or window
problem before customers miss their codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from selfserve.console.activity import ISSUED_OUTCOMES, start_of_day
from selfserve.models import InboundMessage, OutboundMessage

# What an operator should know about each WhatsApp code (sms/whatsapp.py acts on them).
WHATSAPP_ERRORS = {
    63016: "outside the 24-hour window: the template went instead, else SMS",
    63049: "marketing template not delivered (US number): SMS instead, or dropped",
    63024: "not a WhatsApp user: SMS instead, or dropped",
    63003: "not a WhatsApp user: SMS instead, or dropped",
    63014: "the person blocked us on WhatsApp: no more WhatsApp to them",
    63018: "WhatsApp rate limit: retried with backoff",
    21656: "configuration: ContentVariables do not fit the template",
    63028: "configuration: the template's variables do not match its content",
}


@dataclass(frozen=True)
class ChannelCount:
    """Texts received, codes issued and messages we sent on one channel."""

    channel: str
    texts: int
    codes: int
    sent: int


@dataclass(frozen=True)
class FailureCount:
    """WhatsApp messages that failed (or went another way) with one Twilio error code."""

    error_code: int
    count: int
    meaning: str


def channel_counts(
    db: Session, now: datetime, days: int = 30, campaign_slug: str | None = None
) -> list[ChannelCount]:
    """Per channel (sms, whatsapp, web) over the last `days` UTC days, busiest first."""
    since = start_of_day(now.astimezone(UTC).date() - timedelta(days=max(1, days) - 1))
    issued = case((InboundMessage.outcome.in_(ISSUED_OUTCOMES), 1), else_=0)
    received = (
        select(InboundMessage.channel, func.count(), func.coalesce(func.sum(issued), 0))
        .where(InboundMessage.received_at >= since)
        .group_by(InboundMessage.channel)
    )
    sent = (
        select(OutboundMessage.channel, func.count())
        .where(OutboundMessage.created_at >= since)
        .group_by(OutboundMessage.channel)
    )
    if campaign_slug:
        received = received.where(InboundMessage.campaign_slug == campaign_slug)
        sent = sent.where(OutboundMessage.campaign_slug == campaign_slug)
    counts: dict[str, list[int]] = {}
    for channel, texts, codes in db.execute(received):
        counts[channel or "sms"] = [int(texts), int(codes), 0]
    for channel, total in db.execute(sent):
        counts.setdefault(channel or "sms", [0, 0, 0])[2] = int(total)
    return sorted(
        (ChannelCount(name, *values) for name, values in counts.items()),
        key=lambda count: (-(count.texts + count.sent), count.channel),
    )


def whatsapp_failures(db: Session, now: datetime, days: int = 30) -> list[FailureCount]:
    """WhatsApp sends with a Twilio error code, per code, most frequent first."""
    since = start_of_day(now.astimezone(UTC).date() - timedelta(days=max(1, days) - 1))
    rows = db.execute(
        select(OutboundMessage.error_code, func.count())
        .where(
            OutboundMessage.created_at >= since,
            OutboundMessage.error_code.is_not(None),
            or_(
                OutboundMessage.channel == "whatsapp",
                OutboundMessage.error_code.in_(list(WHATSAPP_ERRORS)),
            ),
        )
        .group_by(OutboundMessage.error_code)
    ).all()
    return sorted(
        (
            FailureCount(int(code), int(count), WHATSAPP_ERRORS.get(int(code), ""))
            for code, count in rows
        ),
        key=lambda failure: (-failure.count, failure.error_code),
    )
