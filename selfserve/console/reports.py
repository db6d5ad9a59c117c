"""What marketers see in the console: activity per campaign, the message log, daily statistics,
marketing consent per campaign and source.

Read-only queries over the message log (`inbound_messages`), the outbox (`outbound_messages`)
and the consent trail (`consent_records`, counted only). Full phone numbers never leave this
module: inbound rows only ever held a masked number, and outbound numbers are masked here,
before any page or file sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from selfserve.campaigns import CampaignSpec
from selfserve.customers import IMPORT_SOURCE, ConsentState, mask_phone
from selfserve.models import ConsentRecord, InboundMessage, OutboundMessage

# How the outcomes the text flow records add up on the dashboard. Outcomes not named here
# (help, opted_out, unknown_keyword…) count as texts only.
ISSUED_OUTCOMES = ("code_issued",)
RESENT_OUTCOMES = ("code_resent",)
BALANCE_OUTCOMES = ("loyalty_balance",)
SUBSCRIBED_OUTCOMES = ("subscribed",)
DEFERRED_OUTCOMES = ("deferred",)
FAILED_OUTCOMES = ("failed", "talon_unavailable", "talon_rejected", "code_failed")
DIRECT_SOURCE = ""  # texts typed by hand, not from a tracked QR poster

PAGE_SIZE = 50


@dataclass(frozen=True)
class Activity:
    """Counts of texts and what came of them, today (UTC) and in total."""

    texts_today: int = 0
    texts_total: int = 0
    codes_today: int = 0
    codes_issued: int = 0
    codes_resent: int = 0
    balances: int = 0
    subscribed: int = 0
    deferred: int = 0
    failed: int = 0
    failed_today: int = 0


@dataclass(frozen=True)
class CampaignActivity:
    """One dashboard row: a campaign, its keywords and its activity."""

    slug: str
    name: str
    action: str
    active: bool
    keywords: tuple[str, ...]
    activity: Activity


@dataclass(frozen=True)
class Dashboard:
    """Every campaign's activity, plus the totals over all texts (matched or not)."""

    campaigns: list[CampaignActivity]
    totals: Activity
    unmatched: Activity


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def dashboard(db: Session, campaigns: Sequence[CampaignSpec], now: datetime) -> Dashboard:
    """Activity per campaign (every campaign, even one nobody has texted yet) and overall."""
    today = start_of_day(now.astimezone(UTC).date())
    is_today = InboundMessage.received_at >= today

    def count_where(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    rows = db.execute(
        select(
            InboundMessage.campaign_slug,
            count_where(is_today).label("texts_today"),
            func.count().label("texts_total"),
            count_where(and_(is_today, InboundMessage.outcome.in_(ISSUED_OUTCOMES))).label(
                "codes_today"
            ),
            count_where(InboundMessage.outcome.in_(ISSUED_OUTCOMES)).label("codes_issued"),
            count_where(InboundMessage.outcome.in_(RESENT_OUTCOMES)).label("codes_resent"),
            count_where(InboundMessage.outcome.in_(BALANCE_OUTCOMES)).label("balances"),
            count_where(InboundMessage.outcome.in_(SUBSCRIBED_OUTCOMES)).label("subscribed"),
            count_where(InboundMessage.outcome.in_(DEFERRED_OUTCOMES)).label("deferred"),
            count_where(InboundMessage.outcome.in_(FAILED_OUTCOMES)).label("failed"),
            count_where(and_(is_today, InboundMessage.outcome.in_(FAILED_OUTCOMES))).label(
                "failed_today"
            ),
        ).group_by(InboundMessage.campaign_slug)
    ).all()
    by_slug = {row.campaign_slug: _activity(row) for row in rows}
    totals = Activity(
        **{
            name: sum(getattr(activity, name) for activity in by_slug.values())
            for name in Activity.__dataclass_fields__
        }
    )
    return Dashboard(
        campaigns=[
            CampaignActivity(
                slug=spec.slug,
                name=spec.name,
                action=spec.action,
                active=spec.active,
                keywords=spec.keywords,
                activity=by_slug.get(spec.slug, Activity()),
            )
            for spec in campaigns
        ],
        totals=totals,
        unmatched=by_slug.get(None, Activity()),
    )


def _activity(row: Any) -> Activity:
    return Activity(**{name: int(getattr(row, name)) for name in Activity.__dataclass_fields__})


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
    inbound = select(
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
    )
    outbound = select(
        literal("out", String).label("direction"),
        OutboundMessage.created_at.label("at"),
        OutboundMessage.id.label("row_id"),
        OutboundMessage.to_e164.label("phone"),
        OutboundMessage.campaign_slug.label("campaign_slug"),
        cast(null(), String).label("keyword"),
        OutboundMessage.status.label("outcome"),
        OutboundMessage.body.label("text"),
        OutboundMessage.provider.label("channel"),
        OutboundMessage.purpose.label("note"),
    )
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
            "in", at, row.phone, row.campaign_slug, row.keyword, row.outcome, row.text, note
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
        f"{purpose} via {row.channel}" if row.channel else purpose,
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


@dataclass(frozen=True)
class DayCount:
    """Texts received and codes issued on one day (UTC)."""

    day: date
    texts: int
    codes: int


@dataclass(frozen=True)
class SourceCount:
    """Texts and codes from one poster location (`src`), or typed by hand (DIRECT_SOURCE)."""

    source: str
    texts: int
    codes: int


@dataclass(frozen=True)
class StatsRow:
    """One cell of the table behind the charts: a day and a source."""

    day: date
    source: str
    texts: int
    codes: int


@dataclass(frozen=True)
class Stats:
    """Texts and codes per day (every day of the window, zeros included) and per source."""

    first_day: date
    last_day: date
    days: list[DayCount]
    sources: list[SourceCount]
    rows: list[StatsRow]

    @property
    def total_texts(self) -> int:
        """Texts in the window."""
        return sum(day.texts for day in self.days)

    @property
    def total_codes(self) -> int:
        """Codes issued in the window."""
        return sum(day.codes for day in self.days)


def daily_stats(
    db: Session, now: datetime, days: int = 30, campaign_slug: str | None = None
) -> Stats:
    """Texts and new codes per UTC day and per poster source over the last `days` days."""
    days = max(1, min(days, 366))
    last_day = now.astimezone(UTC).date()
    first_day = last_day - timedelta(days=days - 1)
    day = utc_day(InboundMessage.received_at, db.get_bind().dialect.name).label("day")
    source = func.coalesce(InboundMessage.source, DIRECT_SOURCE).label("source")
    query = (
        select(
            day,
            source,
            func.count().label("texts"),
            func.coalesce(
                func.sum(case((InboundMessage.outcome.in_(ISSUED_OUTCOMES), 1), else_=0)), 0
            ).label("codes"),
        )
        .where(InboundMessage.received_at >= start_of_day(first_day))
        .group_by(day, source)
        .order_by(day, source)
    )
    if campaign_slug:
        query = query.where(InboundMessage.campaign_slug == campaign_slug)
    rows = [
        StatsRow(date.fromisoformat(str(row.day)), row.source, int(row.texts), int(row.codes))
        for row in db.execute(query)
    ]
    per_day: dict[date, list[int]] = {
        first_day + timedelta(days=offset): [0, 0] for offset in range(days)
    }
    per_source: dict[str, list[int]] = {}
    for row in rows:
        if row.day in per_day:
            per_day[row.day][0] += row.texts
            per_day[row.day][1] += row.codes
        counts = per_source.setdefault(row.source, [0, 0])
        counts[0] += row.texts
        counts[1] += row.codes
    return Stats(
        first_day=first_day,
        last_day=last_day,
        days=[DayCount(day, texts, codes) for day, (texts, codes) in per_day.items()],
        sources=sorted(
            (SourceCount(name, texts, codes) for name, (texts, codes) in per_source.items()),
            key=lambda counts: (-counts.texts, counts.source),
        ),
        rows=rows,
    )


def utc_day(column: Any, dialect: str) -> Any:
    """SQL for the UTC calendar day of a timestamp column, as text `YYYY-MM-DD`.

    PostgreSQL keeps an instant and would answer in the session's time zone; SQLite keeps the
    UTC text the model wrote. One function hides the difference.
    """
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)


@dataclass(frozen=True)
class ConsentCount:
    """Numbers whose newest consent record names one campaign and source, by its state."""

    campaign_slug: str | None  # None: not from a campaign (the imported directory)
    source: str  # the poster's src, IMPORT_SOURCE, or "" when there was none
    consented: int
    pending: int
    revoked: int


def consent_counts(db: Session) -> list[ConsentCount]:
    """Every number counted once, by its newest consent record, per campaign and source.

    One statement: a window over the trail picks each number's newest record (the
    (phone, recorded_at) index orders it), then the database groups and counts; no row
    reaches Python. Sorted by campaign (the directory's import last), then source.
    """
    newest = select(
        ConsentRecord.campaign_slug,
        case(
            # Records imported before imports were given a source still count as imports.
            (
                and_(ConsentRecord.source.is_(None), ConsentRecord.method == "import"),
                IMPORT_SOURCE,
            ),
            else_=func.coalesce(ConsentRecord.source, ""),
        ).label("source"),
        ConsentRecord.state,
        func.row_number()
        .over(
            partition_by=ConsentRecord.phone_e164,
            order_by=(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc()),
        )
        .label("newness"),
    ).subquery()

    def numbers_in(state: ConsentState) -> Any:
        return func.coalesce(func.sum(case((newest.c.state == str(state), 1), else_=0)), 0)

    rows = db.execute(
        select(
            newest.c.campaign_slug,
            newest.c.source,
            numbers_in(ConsentState.CONSENTED).label("consented"),
            numbers_in(ConsentState.PENDING).label("pending"),
            numbers_in(ConsentState.REVOKED).label("revoked"),
        )
        .where(newest.c.newness == 1)
        .group_by(newest.c.campaign_slug, newest.c.source)
    ).all()
    counts = [
        ConsentCount(
            row.campaign_slug, row.source, int(row.consented), int(row.pending), int(row.revoked)
        )
        for row in rows
    ]
    return sorted(
        counts,
        key=lambda count: (count.campaign_slug is None, count.campaign_slug or "", count.source),
    )
