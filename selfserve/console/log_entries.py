"""The console's message log: texts received and sent, newest first, with masked numbers.

Read-only queries over the message log (`inbound_messages`) and the outbox
(`outbound_messages`). Full phone numbers never leave this module: inbound rows only ever held
a masked number, and outbound numbers are masked here, before any page or file sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, String, cast, literal, null, select, union_all
from sqlalchemy.orm import Session

from selfserve.console.activity import (
    DEFERRED_OUTCOMES,
    FAILED_OUTCOMES,
    ISSUED_OUTCOMES,
    RESENT_OUTCOMES,
)
from selfserve.customers import mask_phone
from selfserve.models import DeferredCode, InboundMessage, IssuedCoupon, OutboundMessage

PAGE_SIZE = 50


@dataclass(frozen=True)
class LogEntry:
    """One line of the message log: a text we received, or one we sent ourselves."""

    direction: str  # "in" (received, with our TwiML reply) or "out" (sent by us later)
    at: datetime
    phone_masked: str
    campaign_slug: str | None
    keyword: str | None
    outcome: str | None  # inbound: what came of it; outbound: the delivery status
    text: str | None  # inbound: our reply; outbound: the body we sent
    note: str | None  # inbound: channel and poster source; outbound: why we sent it
    code_token: str | None = None  # the issued code's page (`/c/<token>`), shown beside it
    channel: str = "sms"  # sms | whatsapp (web: a landing-page claim)


@dataclass(frozen=True)
class LogPage:
    """A page of the message log, newest first."""

    entries: list[LogEntry]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        """True when there is a newer page."""
        return self.page > 1


def message_log(
    db: Session,
    *,
    campaign_slug: str | None = None,
    outcome: str | None = None,
    direction: str | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> LogPage:
    """Received and sent texts together, newest first, optionally filtered; masked numbers."""
    page = max(1, page)
    inbound, outbound = _received(), _sent()
    if campaign_slug:
        inbound = inbound.where(InboundMessage.campaign_slug == campaign_slug)
        outbound = outbound.where(OutboundMessage.campaign_slug == campaign_slug)
    if outcome:
        inbound = inbound.where(InboundMessage.outcome == outcome)
        outbound = outbound.where(OutboundMessage.status == outcome)
    parts = {"in": [inbound], "out": [outbound]}.get(direction or "", [inbound, outbound])
    combined = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    rows = db.execute(
        select(combined)
        .order_by(combined.c.at.desc(), combined.c.row_id.desc())
        .limit(page_size + 1)
        .offset((page - 1) * page_size)
    ).all()
    entries = [_log_entry(row) for row in rows[:page_size]]
    return LogPage(entries, page, has_next=len(rows) > page_size)


def _received() -> Select[Any]:
    """Texts we received, in the columns the log shares with the outbox."""
    return select(
        literal("in", String).label("direction"),
        InboundMessage.received_at.label("at"),
        InboundMessage.id.label("row_id"),
        InboundMessage.phone_masked.label("phone"),
        InboundMessage.campaign_slug.label("campaign_slug"),
        InboundMessage.keyword.label("keyword"),
        InboundMessage.outcome.label("outcome"),
        InboundMessage.reply.label("text"),
        InboundMessage.channel.label("channel"),
        InboundMessage.source.label("note"),
        _issued_token().label("code_token"),
        cast(null(), String).label("via"),
    )


def _issued_token() -> Any:
    """The code page of the code a received text was given or sent again (its newest)."""
    return (
        select(IssuedCoupon.code_token)
        .where(
            InboundMessage.outcome.in_(ISSUED_OUTCOMES + RESENT_OUTCOMES),
            IssuedCoupon.campaign_slug == InboundMessage.campaign_slug,
            IssuedCoupon.customer_id == InboundMessage.customer_id,
        )
        .order_by(IssuedCoupon.issued_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def _sent() -> Select[Any]:
    """Texts we sent from the outbox, in the same columns as `_received`."""
    return select(
        literal("out", String).label("direction"),
        OutboundMessage.created_at.label("at"),
        OutboundMessage.id.label("row_id"),
        OutboundMessage.to_e164.label("phone"),
        OutboundMessage.campaign_slug.label("campaign_slug"),
        cast(null(), String).label("keyword"),
        OutboundMessage.status.label("outcome"),
        OutboundMessage.body.label("text"),
        OutboundMessage.channel.label("channel"),
        OutboundMessage.purpose.label("note"),
        select(DeferredCode.code_token)  # an owed code, texted once Talon.One gave it
        .where(DeferredCode.outbound_id == OutboundMessage.id)
        .limit(1)
        .scalar_subquery()
        .label("code_token"),
        OutboundMessage.provider.label("via"),
    )


def _log_entry(row: Any) -> LogEntry:
    at = row.at
    if isinstance(at, str):  # SQLite hands back text from a UNION: parse it as stored (UTC)
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if row.direction == "in":
        parts = [row.channel] if row.channel and row.channel != "sms" else []
        if row.note:
            parts.append(f"from poster {row.note}")
        note = ", ".join(parts) or None
        return LogEntry(
            "in",
            at,
            row.phone,
            row.campaign_slug,
            row.keyword,
            row.outcome,
            row.text,
            note,
            row.code_token,
            row.channel or "sms",
        )
    purpose = row.note or ""
    return LogEntry(
        "out",
        at,
        mask_phone(row.phone),  # the outbox keeps the full number to send to; pages never do
        row.campaign_slug,
        None,
        row.outcome,
        "(one-time code, hidden)" if is_secret_purpose(purpose) else row.text,
        f"{purpose} via {row.via}" if row.via else purpose,
        row.code_token,
        row.channel or "sms",
    )


def is_secret_purpose(purpose: str) -> bool:
    """True for texts whose body proves who someone is (one-time codes): never shown again."""
    lowered = purpose.lower()
    return any(word in lowered for word in ("otp", "verif", "one_time", "login"))


def log_filters(db: Session, recent_rows: int = 10_000) -> tuple[list[str], list[str]]:
    """The campaign slugs and outcomes (or delivery statuses) to offer as log filters, sorted.

    Read from the newest `recent_rows` of each table, so the page stays fast however long the
    log grows; the outcomes the dashboard counts are always offered.
    """
    slugs: set[str] = set()
    outcomes: set[str] = {
        *ISSUED_OUTCOMES,
        *RESENT_OUTCOMES,
        *DEFERRED_OUTCOMES,
        *FAILED_OUTCOMES[:2],
    }
    for slug_column, outcome_column, id_column in (
        (InboundMessage.campaign_slug, InboundMessage.outcome, InboundMessage.id),
        (OutboundMessage.campaign_slug, OutboundMessage.status, OutboundMessage.id),
    ):
        recent = (
            select(slug_column.label("slug"), outcome_column.label("outcome"))
            .order_by(id_column.desc())
            .limit(recent_rows)
            .subquery()
        )
        for slug, outcome in db.execute(select(recent.c.slug, recent.c.outcome).distinct()):
            if slug:
                slugs.add(slug)
            if outcome:
                outcomes.add(outcome)
    return sorted(slugs), sorted(outcomes)
