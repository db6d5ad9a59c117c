"""The redemption funnel: landing visits → numbers verified → codes issued → redeemed.

Per campaign and overall, and per poster location (`src`), keyword and channel: each code's
first touch (issued_coupons) joined to its redemptions (coupon_redemptions, kept by the
redemption sync; a rolled-back one never counts). The window holds the codes issued in it;
their redemptions count whenever they happened, so the rate is "of the codes we gave out in
these days, how many reached a till". Counted by the database (GROUP BY), so a campaign
with millions of codes is a few hundred rows here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from selfserve.console.activity import start_of_day
from selfserve.console.stats import DIRECT_SOURCE, utc_day
from selfserve.models import CouponRedemption, InboundMessage, IssuedCoupon, LandingVisit

OVERALL, SOURCE, KEYWORD, CHANNEL = "overall", "source", "keyword", "channel"
BREAKDOWNS = (SOURCE, KEYWORD, CHANNEL)
ALL_CAMPAIGNS = "all"
PAGE_CHANNELS = ("landing",)  # codes shown on a landing page; every other channel is a text


@dataclass(frozen=True)
class FunnelRow:
    """One step-by-step count: a campaign (or all), cut by one breakdown value (or none).

    `landing_visits` and `numbers_verified` are None where they mean nothing (a keyword,
    a channel: landing pages have neither)."""

    campaign: str
    breakdown: str
    value: str
    landing_visits: int | None
    numbers_verified: int | None
    codes_issued: int
    codes_by_text: int
    codes_on_pages: int
    redeemed: int
    revenue: Decimal
    same_day: int
    within_7_days: int
    within_30_days: int
    later: int

    @property
    def redemption_rate(self) -> float | None:
        """Redeemed codes over codes issued (None before any code)."""
        return self.redeemed / self.codes_issued if self.codes_issued else None


@dataclass(frozen=True)
class DayPair:
    """Codes issued on one day (UTC) and redemptions made that day."""

    day: date
    issued: int
    redeemed: int


@dataclass(frozen=True)
class Funnel:
    """The window's funnel: `rows` per campaign (overall first, then each breakdown), the
    grand total, and each campaign's days."""

    first_day: date
    last_day: date
    rows: list[FunnelRow]
    total: FunnelRow
    days: dict[str, list[DayPair]]

    def of(self, campaign: str, breakdown: str = OVERALL) -> list[FunnelRow]:
        """The rows of one campaign and breakdown."""
        return [r for r in self.rows if r.campaign == campaign and r.breakdown == breakdown]

    @property
    def campaigns(self) -> list[str]:
        """The campaigns with a row, in order."""
        return list(dict.fromkeys(row.campaign for row in self.rows))


@dataclass
class _Counts:
    visits: int = 0
    verified: int = 0
    codes: int = 0
    texts: int = 0
    pages: int = 0
    redeemed: int = 0
    revenue: Decimal = Decimal(0)
    same_day: int = 0
    week: int = 0
    month: int = 0
    later: int = 0

    def add(self, other: _Counts) -> None:
        for name in (spec.name for spec in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def redemption_funnel(
    db: Session, now: datetime, days: int = 30, campaign_slug: str | None = None
) -> Funnel:
    """The funnel of the codes issued in the last `days` UTC days (one campaign, or all)."""
    days = max(1, min(days, 366))
    last_day = now.astimezone(UTC).date()
    first_day = last_day - timedelta(days=days - 1)
    since = start_of_day(first_day)
    groups = _code_groups(db, since, campaign_slug)
    visits = _visits(db, first_day, campaign_slug)
    verified = _verified(db, since, campaign_slug)
    rows: list[FunnelRow] = []
    total = _Counts()
    slugs = sorted({key[0] for key in [*groups, *visits, *verified]})
    for slug in slugs:
        campaign_rows = _campaign_rows(slug, groups, visits, verified)
        rows.extend(campaign_rows)
        total.add(_counts_of(campaign_rows[0]))
    daily = {slug: _days(db, slug, first_day, last_day) for slug in slugs}
    return Funnel(first_day, last_day, rows, _row(ALL_CAMPAIGNS, OVERALL, "", total), daily)


def _campaign_rows(
    slug: str,
    groups: dict[tuple[str, str, str, str], _Counts],
    visits: dict[tuple[str, str], int],
    verified: dict[tuple[str, str], int],
) -> list[FunnelRow]:
    """A campaign's overall row, then its rows per source, keyword and channel."""
    per: dict[str, dict[str, _Counts]] = {name: {} for name in (OVERALL, *BREAKDOWNS)}
    for (campaign, channel, keyword, source), counts in groups.items():
        if campaign != slug:
            continue
        for name, value in (
            (OVERALL, ""),
            (SOURCE, source),
            (KEYWORD, keyword),
            (CHANNEL, channel),
        ):
            per[name].setdefault(value, _Counts()).add(counts)
    for (campaign, source), count in visits.items():
        if campaign == slug:
            per[SOURCE].setdefault(source, _Counts()).visits += count
            per[OVERALL].setdefault("", _Counts()).visits += count
    for (campaign, source), count in verified.items():
        if campaign == slug:
            per[SOURCE].setdefault(source, _Counts()).verified += count
            per[OVERALL].setdefault("", _Counts()).verified += count
    rows = [_row(slug, OVERALL, "", per[OVERALL].get("", _Counts()))]
    for name in BREAKDOWNS:
        ordered = sorted(per[name].items(), key=lambda item: (-item[1].codes, item[0]))
        rows.extend(_row(slug, name, value, counts) for value, counts in ordered)
    return rows


def _row(campaign: str, breakdown: str, value: str, counts: _Counts) -> FunnelRow:
    with_visits = breakdown in (OVERALL, SOURCE)
    return FunnelRow(
        campaign=campaign,
        breakdown=breakdown,
        value=value,
        landing_visits=counts.visits if with_visits else None,
        numbers_verified=counts.verified if with_visits else None,
        codes_issued=counts.codes,
        codes_by_text=counts.texts,
        codes_on_pages=counts.pages,
        redeemed=counts.redeemed,
        revenue=counts.revenue,
        same_day=counts.same_day,
        within_7_days=counts.week,
        within_30_days=counts.month,
        later=counts.later,
    )


def _counts_of(row: FunnelRow) -> _Counts:
    return _Counts(
        row.landing_visits or 0,
        row.numbers_verified or 0,
        row.codes_issued,
        row.codes_by_text,
        row.codes_on_pages,
        row.redeemed,
        row.revenue,
        row.same_day,
        row.within_7_days,
        row.within_30_days,
        row.later,
    )


def _live_redemptions() -> Any:
    """Per redeemed code: its first live redemption and the revenue of all of them."""
    return (
        select(
            CouponRedemption.issued_coupon_id.label("coupon_id"),
            func.min(CouponRedemption.redeemed_at).label("first_at"),
            func.sum(CouponRedemption.total_revenue).label("revenue"),
        )
        .where(CouponRedemption.rolled_back_at.is_(None))
        .group_by(CouponRedemption.issued_coupon_id)
        .subquery()
    )


def _code_groups(
    db: Session, since: datetime, campaign_slug: str | None
) -> dict[tuple[str, str, str, str], _Counts]:
    """Codes issued since `since`, redeemed and their revenue and time to redeem, per
    (campaign, channel, keyword, source)."""
    dialect = db.bind.dialect.name
    live = _live_redemptions()
    waited = _days_between(IssuedCoupon.issued_at, live.c.first_at, dialect)
    redeemed = live.c.coupon_id.is_not(None)
    same_day = utc_day(live.c.first_at, dialect) == utc_day(IssuedCoupon.issued_at, dialect)
    channel = func.coalesce(IssuedCoupon.channel, "")
    keyword = func.coalesce(IssuedCoupon.keyword, "")
    source = func.coalesce(IssuedCoupon.source, DIRECT_SOURCE)

    def count_where(*conditions: Any) -> Any:
        return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)

    query = (
        select(
            IssuedCoupon.campaign_slug,
            channel,
            keyword,
            source,
            func.count(),
            count_where(channel.in_(PAGE_CHANNELS)),
            count_where(redeemed),
            func.coalesce(func.sum(live.c.revenue), 0),
            count_where(redeemed, same_day),
            count_where(redeemed, ~same_day, waited <= 7),
            count_where(redeemed, waited > 7, waited <= 30),
            count_where(redeemed, waited > 30),
        )
        .outerjoin(live, live.c.coupon_id == IssuedCoupon.id)
        .where(IssuedCoupon.issued_at >= since, IssuedCoupon.warm.is_(False))
        .group_by(IssuedCoupon.campaign_slug, channel, keyword, source)
    )
    if campaign_slug:
        query = query.where(IssuedCoupon.campaign_slug == campaign_slug)
    return {(row[0], row[1], row[2], row[3]): _group_counts(row) for row in db.execute(query)}


def _group_counts(row: Any) -> _Counts:
    codes, pages = int(row[4]), int(row[5])
    return _Counts(
        codes=codes,
        texts=codes - pages,
        pages=pages,
        redeemed=int(row[6]),
        revenue=Decimal(str(row[7] or 0)).quantize(Decimal("0.01")),
        same_day=int(row[8]),
        week=int(row[9]),
        month=int(row[10]),
        later=int(row[11]),
    )


def _days_between(start: Any, end: Any, dialect: str) -> Any:
    """SQL for the days (fractional) from `start` to `end`."""
    if dialect == "postgresql":
        return func.extract("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


def _visits(db: Session, first_day: date, campaign_slug: str | None) -> dict[tuple[str, str], int]:
    query = (
        select(LandingVisit.campaign_slug, LandingVisit.source, func.sum(LandingVisit.visits))
        .where(LandingVisit.day >= first_day)
        .group_by(LandingVisit.campaign_slug, LandingVisit.source)
    )
    if campaign_slug:
        query = query.where(LandingVisit.campaign_slug == campaign_slug)
    return {(row[0], row[1] or DIRECT_SOURCE): int(row[2]) for row in db.execute(query)}


def _verified(
    db: Session, since: datetime, campaign_slug: str | None
) -> dict[tuple[str, str], int]:
    """Numbers proved on a landing page: each proved visit's claim is one web row of the
    message log (the one-time codes themselves are purged after a day)."""
    source = func.coalesce(InboundMessage.source, DIRECT_SOURCE)
    query = (
        select(InboundMessage.campaign_slug, source, func.count())
        .where(
            InboundMessage.channel == "web",
            InboundMessage.received_at >= since,
            InboundMessage.campaign_slug.is_not(None),
        )
        .group_by(InboundMessage.campaign_slug, source)
    )
    if campaign_slug:
        query = query.where(InboundMessage.campaign_slug == campaign_slug)
    return {(row[0], row[1]): int(row[2]) for row in db.execute(query)}


def _days(db: Session, slug: str, first_day: date, last_day: date) -> list[DayPair]:
    """Codes issued and redemptions per UTC day of the window, zeros included."""
    dialect = db.bind.dialect.name
    since = start_of_day(first_day)
    issued_day = utc_day(IssuedCoupon.issued_at, dialect)
    issued = db.execute(
        select(issued_day, func.count())
        .where(
            IssuedCoupon.campaign_slug == slug,
            IssuedCoupon.issued_at >= since,
            IssuedCoupon.warm.is_(False),
        )
        .group_by(issued_day)
    )
    redeemed_day = utc_day(CouponRedemption.redeemed_at, dialect)
    redeemed = db.execute(
        select(redeemed_day, func.count())
        .join(IssuedCoupon, IssuedCoupon.id == CouponRedemption.issued_coupon_id)
        .where(
            IssuedCoupon.campaign_slug == slug,
            CouponRedemption.redeemed_at >= since,
            CouponRedemption.rolled_back_at.is_(None),
        )
        .group_by(redeemed_day)
    )
    count = (last_day - first_day).days + 1
    pairs = {
        first_day + timedelta(days=n): DayPair(first_day + timedelta(days=n), 0, 0)
        for n in range(count)
    }
    for text, number in issued:
        day = date.fromisoformat(str(text))
        if day in pairs:
            pairs[day] = replace(pairs[day], issued=int(number))
    for text, number in redeemed:
        day = date.fromisoformat(str(text))
        if day in pairs:
            pairs[day] = replace(pairs[day], redeemed=int(number))
    return list(pairs.values())


def redeemed_today(db: Session, now: datetime) -> int:
    """Redemptions made today (UTC), not rolled back: the dashboard's tile."""
    return int(
        db.scalar(
            select(func.count()).where(
                CouponRedemption.redeemed_at >= start_of_day(now.astimezone(UTC).date()),
                CouponRedemption.rolled_back_at.is_(None),
            )
        )
        or 0
    )


def funnel_rows(funnel: Funnel) -> Iterable[FunnelRow]:
    """Every row of the CSV: each campaign's rows, then the grand total."""
    yield from funnel.rows
    yield funnel.total
