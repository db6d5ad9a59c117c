"""Which of our codes were redeemed: the redemption sync, reading Talon.One's effects.

Talon.One sends no "coupon redeemed" notification, but it records an `acceptCoupon` effect
when a till's session accepts a code, and a `rollbackCoupon` when that is undone. For each
Talon.One campaign our campaigns use, the sync reads the Application's effects export
(talon/management.py) from a stored cursor, in windows (`chunk`), and keeps each redemption
of a code we issued once (coupon_redemptions: one row per code and session). Each window's
rows and the cursor that moves past it commit together, so a sync killed halfway resumes
where it stopped; a window read twice changes nothing. Codes we did not issue are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook
from selfserve.errors import TalonError
from selfserve.models import CouponRedemption, IssuedCoupon, RedemptionCursor, utcnow
from selfserve.ops import insert_ignoring_duplicates
from selfserve.talon import CouponEffect, ManagementClient

log = logging.getLogger(__name__)

RETENTION = timedelta(days=30)  # Talon.One keeps effects this long by default
OVERLAP = timedelta(minutes=10)  # re-read a little: effects may land late at Talon.One
IN_LIST = 500  # codes per IN (...) lookup


@dataclass(frozen=True)
class Window:
    """One export to read: a Talon.One campaign's effects created in [start, end).

    `end` None: up to now and beyond (the last window; a clock behind Talon.One's loses
    nothing). `read_until` is where the cursor goes once it is read."""

    application_id: int
    talon_campaign_id: int
    start: datetime
    end: datetime | None
    read_until: datetime


@dataclass
class SyncSummary:
    """What one sync did: the summary line's fields."""

    campaigns: int = 0
    windows: int = 0
    requests: int = 0
    effects: int = 0
    redeemed: int = 0  # new redemptions of our codes (or re-accepted after a rollback)
    rolled_back: int = 0
    not_ours: int = 0  # effects of codes we did not issue
    unchanged: int = 0  # effects already kept (a window read again)
    errors: list[str] = field(default_factory=list)  # one per Talon.One campaign not read

    @property
    def all_failed(self) -> bool:
        """True when not one Talon.One campaign could be read (a wrong key, Talon.One down)."""
        return bool(self.errors) and len(self.errors) >= self.campaigns


@dataclass(frozen=True)
class SyncStatus:
    """For the console: the oldest effect time asked for, and when the sync last ran."""

    data_since: datetime | None
    last_sync: datetime | None


class RedemptionSync:
    """Reads Talon.One's coupon effects into coupon_redemptions (see the module docstring)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        campaigns: CampaignBook,
        management: ManagementClient,
        *,
        clock: Callable[[], datetime] = utcnow,
        chunk: timedelta = timedelta(days=15),
    ) -> None:
        self._sessions = sessions
        self._campaigns = campaigns
        self._management = management
        self._clock = clock
        self._chunk = chunk

    def targets(self) -> list[tuple[int, int]]:
        """(Application id, Talon.One campaign id) of every campaign that issues coupons."""
        self._campaigns.invalidate()
        found = {
            (spec.application_id, spec.campaign_id)
            for spec in self._campaigns.all()
            if spec.application_id is not None and spec.campaign_id is not None
        }
        return sorted(found)  # type: ignore[arg-type]

    def plan(self, since: datetime | None = None) -> list[Window]:
        """The windows a sync reads now: from `since`, else each cursor (a little before it),
        else the last 30 days (what Talon.One keeps)."""
        now = self._clock()
        with self._sessions() as db:
            cursors = {
                (row.application_id, row.talon_campaign_id): row.read_until
                for row in db.scalars(select(RedemptionCursor))
            }
        windows: list[Window] = []
        for application_id, campaign_id in self.targets():
            cursor = cursors.get((application_id, campaign_id))
            start = since or (cursor - OVERLAP if cursor is not None else now - RETENTION)
            while True:
                end = start + self._chunk
                last = end >= now
                windows.append(
                    Window(
                        application_id,
                        campaign_id,
                        start,
                        None if last else end,
                        now if last else end,
                    )
                )
                if last:
                    break
                start = end
        return windows

    def run(
        self,
        since: datetime | None = None,
        *,
        windows: Sequence[Window] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> SyncSummary:
        """Read every window (`plan(since)` unless given); log and return the summary.

        A Talon.One campaign whose export fails (TalonRejected, or TalonUnavailable after
        every retry) keeps its cursor where it got to and is named in `summary.errors`; the
        others are still read. Raises nothing from Talon.One."""
        planned = list(windows) if windows is not None else self.plan(since)
        summary = SyncSummary(
            campaigns=len({(w.application_id, w.talon_campaign_id) for w in planned})
        )
        before = self._management.requests
        failed: set[tuple[int, int]] = set()
        try:
            for window in planned:
                target = (window.application_id, window.talon_campaign_id)
                if target not in failed:
                    self._read_or_fail(window, summary, failed)
                if progress is not None:
                    progress(1)
        finally:
            summary.requests = self._management.requests - before
            log.info("redemptions_synced", extra=_fields(summary))
        return summary

    def _read_or_fail(
        self, window: Window, summary: SyncSummary, failed: set[tuple[int, int]]
    ) -> None:
        try:
            self._read(window, summary)
        except TalonError as error:
            failed.add((window.application_id, window.talon_campaign_id))
            summary.errors.append(
                f"application {window.application_id} campaign {window.talon_campaign_id}: {error}"
            )
            log.warning(
                "redemptions_export_failed",
                extra={
                    "application_id": window.application_id,
                    "talon_campaign_id": window.talon_campaign_id,
                    "reason": str(error),
                },
            )
            return
        summary.windows += 1

    def run_if_due(self, every: timedelta) -> SyncSummary | None:
        """Sync when the oldest cursor is `every` old (or a campaign has none); the worker's
        periodic job, which ticks every minute."""
        targets = self.targets()
        if not targets:
            return None
        with self._sessions() as db:
            synced = db.execute(select(func.count(), func.min(RedemptionCursor.synced_at))).one()
        if (
            synced[0] >= len(targets)
            and synced[1] is not None
            and synced[1] > self._clock() - every
        ):
            return None
        return self.run()

    def close(self) -> None:
        """Release the Management API client's connections."""
        self._management.close()

    def _read(self, window: Window, summary: SyncSummary) -> None:
        """One export, and its redemptions and the cursor in one transaction."""
        effects = self._management.coupon_effects(
            window.application_id,
            campaign_id=window.talon_campaign_id,
            created_after=window.start,
            created_before=window.end,
        )
        summary.effects += len(effects)
        with self._sessions.begin() as db:
            keep_effects(db, self._slugs_of(window), effects, summary, self._clock())
            _move_cursor(db, window, self._clock())

    def _slugs_of(self, window: Window) -> list[str]:
        return [
            spec.slug
            for spec in self._campaigns.all()
            if (spec.application_id, spec.campaign_id)
            == (window.application_id, window.talon_campaign_id)
        ]


@dataclass
class _Kept:
    """What coupon_redemptions holds for one code and session, as this batch goes along."""

    redeemed_at: datetime
    rolled_back_at: datetime | None


def keep_effects(
    db: Session,
    campaign_slugs: Sequence[str],
    effects: Sequence[CouponEffect],
    summary: SyncSummary,
    now: datetime,
) -> None:
    """Apply accepts and rollbacks of our codes (of these campaigns) to coupon_redemptions."""
    issued = _issued_ids(db, campaign_slugs, {effect.code for effect in effects})
    kept = _kept(db, issued.values())
    for effect in effects:
        coupon_id = issued.get(effect.code)
        if coupon_id is None:
            summary.not_ours += 1
            continue
        key = (coupon_id, effect.session_integration_id[:255])
        if effect.name == "acceptCoupon":
            changed = _accept(db, kept, key, effect, now)
            summary.redeemed += changed
        else:
            changed = _roll_back(db, kept, key, effect, now)
            summary.rolled_back += changed
        summary.unchanged += not changed


def _accept(
    db: Session,
    kept: dict[tuple[int, str], _Kept],
    key: tuple[int, str],
    effect: CouponEffect,
    now: datetime,
) -> bool:
    """Keep an acceptCoupon: new, or a session accepting again after its rollback."""
    row = kept.get(key)
    values = {**_values(key, effect, now), "rolled_back_at": None}
    if row is None:
        kept[key] = _Kept(effect.created, None)
        return insert_ignoring_duplicates(db, CouponRedemption.__table__, values)
    if row.rolled_back_at is None or effect.created <= row.rolled_back_at:
        return False  # kept already, or an accept older than its rollback
    db.execute(update(CouponRedemption).where(*_matches(key)).values(**values))
    kept[key] = _Kept(effect.created, None)
    return True


def _roll_back(
    db: Session,
    kept: dict[tuple[int, str], _Kept],
    key: tuple[int, str],
    effect: CouponEffect,
    now: datetime,
) -> bool:
    """Undo the session's redemption; a rollback read before its accept is kept as undone."""
    row = kept.get(key)
    if row is None:
        values = {**_values(key, effect, now), "rolled_back_at": effect.created}
        kept[key] = _Kept(effect.created, effect.created)
        return insert_ignoring_duplicates(
            db, CouponRedemption.__table__, {**values, "total_revenue": Decimal(0)}
        )
    if row.rolled_back_at is not None or effect.created < row.redeemed_at:
        return False  # undone already, or a rollback older than this accept
    db.execute(
        update(CouponRedemption)
        .where(*_matches(key))
        .values(rolled_back_at=effect.created, synced_at=now)
    )
    row.rolled_back_at = effect.created
    return True


def _matches(key: tuple[int, str]) -> tuple[object, object]:
    return (
        CouponRedemption.issued_coupon_id == key[0],
        CouponRedemption.session_integration_id == key[1],
    )


def _values(key: tuple[int, str], effect: CouponEffect, now: datetime) -> dict[str, object]:
    return {
        "issued_coupon_id": key[0],
        "session_integration_id": key[1],
        "redeemed_at": effect.created,
        "total_revenue": effect.total_revenue,
        "talon_campaign_id": effect.campaign_id,
        "event_type": effect.event_type[:64] or None,
        "store_integration_id": effect.store_integration_id[:255] or None,
        "synced_at": now,
    }


def _issued_ids(db: Session, campaign_slugs: Sequence[str], codes: set[str]) -> dict[str, int]:
    """Our issued code rows (of these campaigns) by code value."""
    found: dict[str, int] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), IN_LIST):
        rows = db.execute(
            select(IssuedCoupon.code, IssuedCoupon.id).where(
                IssuedCoupon.code.in_(ordered[start : start + IN_LIST]),
                IssuedCoupon.campaign_slug.in_(campaign_slugs),
            )
        )
        found.update({row.code: row.id for row in rows})
    return found


def _kept(db: Session, coupon_ids: Iterable[int]) -> dict[tuple[int, str], _Kept]:
    ordered = sorted(set(coupon_ids))
    kept: dict[tuple[int, str], _Kept] = {}
    for start in range(0, len(ordered), IN_LIST):
        rows = db.execute(
            select(
                CouponRedemption.issued_coupon_id,
                CouponRedemption.session_integration_id,
                CouponRedemption.redeemed_at,
                CouponRedemption.rolled_back_at,
            ).where(CouponRedemption.issued_coupon_id.in_(ordered[start : start + IN_LIST]))
        )
        for row in rows:
            kept[(row[0], row[1])] = _Kept(row[2], row[3])
    return kept


def _move_cursor(db: Session, window: Window, now: datetime) -> None:
    """The cursor past this window (never back), in the window's own transaction."""
    key = {"application_id": window.application_id, "talon_campaign_id": window.talon_campaign_id}
    inserted = insert_ignoring_duplicates(
        db,
        RedemptionCursor.__table__,
        {**key, "read_until": window.read_until, "first_read_from": window.start, "synced_at": now},
    )
    if inserted:
        return
    cursor = db.get(RedemptionCursor, (window.application_id, window.talon_campaign_id))
    assert cursor is not None  # noqa: S101 - just found by the insert
    cursor.read_until = max(cursor.read_until, window.read_until)
    cursor.first_read_from = min(cursor.first_read_from, window.start)
    cursor.synced_at = now


def sync_status(db: Session) -> SyncStatus:
    """The console's "data since" and "last sync"."""
    row = db.execute(
        select(func.min(RedemptionCursor.first_read_from), func.max(RedemptionCursor.synced_at))
    ).one()
    return SyncStatus(row[0], row[1])


def redeemed_on(db: Session, issued_coupon_ids: Sequence[int]) -> dict[int, datetime]:
    """When each of these codes was first redeemed (rolled-back redemptions never count)."""
    if not issued_coupon_ids:
        return {}
    rows = db.execute(
        select(CouponRedemption.issued_coupon_id, func.min(CouponRedemption.redeemed_at))
        .where(
            CouponRedemption.issued_coupon_id.in_(list(issued_coupon_ids)),
            CouponRedemption.rolled_back_at.is_(None),
        )
        .group_by(CouponRedemption.issued_coupon_id)
    )
    return {row[0]: _utc(row[1]) for row in rows}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _fields(summary: SyncSummary) -> dict[str, object]:
    return {
        "campaigns": summary.campaigns,
        "windows": summary.windows,
        "requests": summary.requests,
        "effects": summary.effects,
        "redeemed": summary.redeemed,
        "rolled_back": summary.rolled_back,
        "not_ours": summary.not_ours,
        "unchanged": summary.unchanged,
        "failed": len(summary.errors),
    }
