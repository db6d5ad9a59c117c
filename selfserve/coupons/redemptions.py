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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook
from selfserve.coupons.redeemed import SyncCounts, keep_effects
from selfserve.errors import TalonError
from selfserve.models import RedemptionCursor, utcnow
from selfserve.ops import insert_ignoring_duplicates
from selfserve.talon import ManagementClient

log = logging.getLogger(__name__)

RETENTION = timedelta(days=30)  # Talon.One keeps effects this long by default
OVERLAP = timedelta(minutes=10)  # re-read a little: effects may land late at Talon.One


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
class SyncSummary(SyncCounts):
    """What one sync did: the summary line's fields."""

    campaigns: int = 0
    windows: int = 0
    requests: int = 0
    effects: int = 0
    errors: list[str] = field(default_factory=list)  # one per Talon.One campaign not read

    @property
    def all_failed(self) -> bool:
        """True when not one Talon.One campaign could be read (a wrong key, Talon.One down)."""
        return bool(self.errors) and len(self.errors) >= self.campaigns


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
