"""Applying Talon.One's coupon effects to coupon_redemptions, and reading them back.

One row per (issued code, session): an accept inserts it (or clears a rollback older than
it), a rollback marks it undone (or is kept as undone when read before its accept), so a
window read twice, or accepts and rollbacks read in any order, leave the same rows. Reads:
when each code was first redeemed (MYCODES, code pages) and the sync's "data since" and
"last sync" (the console).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from selfserve.models import CouponRedemption, IssuedCoupon, RedemptionCursor
from selfserve.ops import insert_ignoring_duplicates
from selfserve.talon import CouponEffect

IN_LIST = 500  # codes per IN (...) lookup


@dataclass
class SyncCounts:
    """What applying effects did (the sync's summary adds its own counts)."""

    redeemed: int = 0  # new redemptions of our codes (or re-accepted after a rollback)
    rolled_back: int = 0
    not_ours: int = 0  # effects of codes we did not issue
    unchanged: int = 0  # effects already kept (a window read again)


@dataclass(frozen=True)
class SyncStatus:
    """For the console: the oldest effect time asked for, and when the sync last ran."""

    data_since: datetime | None
    last_sync: datetime | None


@dataclass
class _Kept:
    """What coupon_redemptions holds for one code and session, as this batch goes along."""

    redeemed_at: datetime
    rolled_back_at: datetime | None


def keep_effects(
    db: Session,
    campaign_slugs: Sequence[str],
    effects: Sequence[CouponEffect],
    summary: SyncCounts,
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
    key = key if key in kept else _session_to_undo(kept, key, effect)
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


def _session_to_undo(
    kept: dict[tuple[int, str], _Kept], key: tuple[int, str], effect: CouponEffect
) -> tuple[int, str]:
    """A rollback whose session accepted nothing of this code (an integration that sends the
    rollback without the session, or another one): the code's latest redemption before it,
    or the one this rollback undid on an earlier read; else its own key."""
    mine = [(other, row) for other, row in kept.items() if other[0] == key[0]]
    for other, row in mine:
        if row.rolled_back_at == effect.created:
            return other  # read before: already undone
    live = [(row.redeemed_at, other) for other, row in mine if row.rolled_back_at is None]
    earlier = [pair for pair in live if pair[0] <= effect.created]
    return max(earlier)[1] if earlier else key


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
