"""Warm-up: fetch directory customers' codes before the announcement, with a share of the budget.

At half-time tens of thousands of texts arrive in minutes and Talon.One's budget answers a few
hundred a minute. Customers we know (the directory) can have their code fetched before then,
through the same `Coupons.issue` as a text (the worker's full timeout, the shared budget), and
stored as an `issued_coupons` row marked `warm`. When they text, the fast path finds it with
one read and answers inline, whatever Talon.One is doing. The code counts as issued at that
first ask (coupons.take_warm_code), never at the warm-up.

A warm-up keeps below its share of the budget: before each call it reads what every process
spent in the current window and waits while that is at `share × limit`, so live traffic
always has the rest. It is resumable (codes already stored are skipped without a call) and
stoppable at any moment (each code is stored in its own commit as it arrives; a call cut
short is asked again with the same identifier, which gives the same coupon).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook, CampaignSpec
from selfserve.coupons.codes import Coupons
from selfserve.customers import to_e164
from selfserve.errors import (
    InvalidPhoneNumber,
    TalonError,
    TalonRateLimited,
    TalonRejected,
    WarmUpRefused,
)
from selfserve.models import Customer, IssuedCoupon, OptOut, WarmUp, utcnow
from selfserve.talon import TalonBudget

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # how often a warm-up waiting for its share looks at the budget again
SAVE_EVERY_SECONDS = 1.0  # progress written to `warm_ups` at most this often
FAILURES_BEFORE_STOPPING = 5  # Talon.One failing this many times in a row stops the run
LONGEST_BACKOFF_SECONDS = 30.0
CHUNK = 500  # identifiers per IN (...) when looking for codes already stored
RUNNING_STATES = ("queued", "running")
STALE_AFTER_SECONDS = 120.0  # a "running" row not updated for this long was a killed run
SLICE_SECONDS = 20.0  # the worker warms in slices, so a stopping worker never waits long


@dataclass(frozen=True)
class WarmPlan:
    """Who a warm-up is for: `to_fetch` (customer id, identifier) still need a call."""

    campaign_slug: str
    total: int
    ready: int
    to_fetch: tuple[tuple[str, str], ...]
    not_found: tuple[str, ...] = ()  # segment entries that are not directory customers


@dataclass(frozen=True)
class WarmReport:
    """How a run ended: `state` is done, stopped (until/Ctrl-C) or failed (Talon.One)."""

    campaign_slug: str
    total: int
    warmed: int
    calls: int
    state: str
    detail: str = ""


@dataclass(frozen=True)
class WarmStatus:
    """The console's line: "warm: 12,340 of 20,000", and the latest run's state."""

    warmed: int
    total: int
    state: str
    updated_at: datetime | None
    detail: str

    @property
    def is_running(self) -> bool:
        """True while a run is queued or going."""
        return self.state in RUNNING_STATES


@dataclass
class _Progress:
    warmed: int
    calls: int = 0
    saved_at: float = 0.0


class WarmUps:
    """Plans and runs warm-ups of coupon campaigns for directory customers."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        writes: sessionmaker[Session],
        campaigns: CampaignBook,
        coupons: Coupons,
        budget: TalonBudget,
        *,
        limit_per_window: int,
        default_region: str,
        dry_run: bool,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._writes = writes  # transactions that read before they write (progress rows)
        self._campaigns = campaigns
        self._coupons = coupons  # the worker's: full timeout, owes nothing
        self._budget = budget
        self._limit = limit_per_window
        self._region = default_region
        self._dry_run = dry_run
        self._clock = clock
        self._sleep = sleep
        self._ticks = ticks

    def check(self, campaign: CampaignSpec) -> None:
        """Raise WarmUpRefused when this campaign cannot be warmed."""
        if self._dry_run or campaign.option("dry_run"):
            raise WarmUpRefused(
                f"{campaign.slug} runs dry (X-DRY-RUN): Talon.One keeps nothing it answers, "
                "so there is nothing to warm"
            )
        if campaign.action != "coupon":
            raise WarmUpRefused(
                f"{campaign.slug} is a {campaign.action} campaign, not a coupon one"
            )
        if not campaign.keywords:
            raise WarmUpRefused(f"{campaign.slug} has no keyword to text")

    def identifier_of(self, campaign: CampaignSpec, customer_id: str) -> str:
        """The identifier today's text of the campaign's first keyword would use."""
        return self._coupons.identifier_for(campaign, customer_id, campaign.keywords[0])

    def plan(self, campaign: CampaignSpec, segment: Sequence[str] | None = None) -> WarmPlan:
        """Directory customers (or the segment's phones/customer ids) and who still needs a
        code. Opted-out numbers are left out: they get no replies."""
        self.check(campaign)
        with self._sessions() as db:
            customers, not_found = self._customers(db, segment)
            wanted = {
                self.identifier_of(campaign, customer_id): customer_id for customer_id in customers
            }
            stored = _stored_identifiers(db, campaign.slug, list(wanted))
        to_fetch = tuple(
            (customer_id, identifier)
            for identifier, customer_id in wanted.items()
            if identifier not in stored
        )
        return WarmPlan(
            campaign.slug, len(wanted), len(wanted) - len(to_fetch), to_fetch, not_found
        )

    def run(
        self,
        campaign: CampaignSpec,
        plan: WarmPlan,
        *,
        share: float,
        until: datetime | None = None,
        until_state: str = "stopped",
        progress: Callable[[int], None] = lambda advanced: None,
    ) -> WarmReport:
        """Fetch the plan's codes, never above `share` of the budget; stop at `until`
        (recorded as `until_state`: the worker's slices stay "running").

        Ctrl-C (KeyboardInterrupt) is recorded as "stopped" and raised again; every code
        fetched before it is kept. Raises WarmUpRefused for a share outside (0, 1].
        """
        self.check(campaign)
        ceiling = self.ceiling(share)
        done = _Progress(warmed=plan.ready)
        self._save(plan, done, "running", share)
        try:
            state, detail = self._fetch_all(campaign, plan, ceiling, until, done, progress, share)
            if state == "stopped":
                state = until_state
        except KeyboardInterrupt:
            self._save(plan, done, "stopped", share, "interrupted")
            raise
        self._save(plan, done, state, share, detail)
        log.info(
            "warm_up_finished",
            extra={"campaign": campaign.slug, "state": state, "warmed": done.warmed},
        )
        return WarmReport(campaign.slug, plan.total, done.warmed, done.calls, state, detail)

    def run_slice(self, campaign_slug: str, share: float) -> bool:
        """The worker's job: warm for SLICE_SECONDS; True when more remains (queue it again).

        A campaign gone, paused into another action or refused is recorded and ends the run.
        """
        campaign = self._campaigns.by_slug(campaign_slug)
        try:
            if campaign is None:
                raise WarmUpRefused(f"no campaign {campaign_slug}")
            plan = self.plan(campaign)
            slice_end = self._clock() + timedelta(seconds=SLICE_SECONDS)
            report = self.run(campaign, plan, share=share, until=slice_end, until_state="running")
        except WarmUpRefused as error:
            log.warning("warm_up_refused", extra={"campaign": campaign_slug, "reason": str(error)})
            self._save(WarmPlan(campaign_slug, 0, 0, ()), _Progress(0), "failed", share, str(error))
            return False
        return report.state == "running"

    def now(self) -> datetime:
        """The warm-up's clock (for forecasts against --until)."""
        return self._clock()

    def ceiling(self, share: float) -> int:
        """The calls per window a warm-up may leave spent: `share` of the limit, at least 1."""
        if not 0 < share <= 1:
            raise WarmUpRefused("the budget share must be more than 0 and at most 1")
        return max(1, math.floor(share * self._limit))

    def status(self, campaign_slug: str) -> WarmStatus:
        """The latest run's count, or none warmed of the whole directory."""
        with self._sessions() as db:
            row = db.get(WarmUp, campaign_slug)
            if row is None:
                directory = db.scalar(select(func.count()).select_from(Customer)) or 0
                return WarmStatus(0, directory, "", None, "")
            state = row.state
            if state in RUNNING_STATES and self._is_stale(row.updated_at):
                state = "stopped"
            return WarmStatus(row.warmed, row.total, state, row.updated_at, row.detail or "")

    def mark_queued(self, campaign: CampaignSpec, share: float) -> bool:
        """Record a run handed to the worker; False when one is queued or running already."""
        self.check(campaign)
        self.ceiling(share)
        with self._writes.begin() as db:
            row = db.get(WarmUp, campaign.slug, with_for_update=True)
            if (
                row is not None
                and row.state in RUNNING_STATES
                and not self._is_stale(row.updated_at)
            ):
                return False
            if row is None:
                row = WarmUp(campaign_slug=campaign.slug, state="queued")
                db.add(row)
            now = self._clock()
            row.state, row.budget_share, row.started_at, row.updated_at = "queued", share, now, now
            row.calls, row.detail = 0, None
        return True

    def _fetch_all(
        self,
        campaign: CampaignSpec,
        plan: WarmPlan,
        ceiling: int,
        until: datetime | None,
        done: _Progress,
        progress: Callable[[int], None],
        share: float,
    ) -> tuple[str, str]:
        """Fetch every code of the plan in turn; the run's final state and why."""
        for customer_id, identifier in plan.to_fetch:
            try:
                fetched = self._fetch_one(campaign, customer_id, identifier, ceiling, until)
            except TalonError as error:
                return "failed", str(error)
            if not fetched:
                return "stopped", "reached --until"
            done.warmed += 1
            done.calls += 1
            progress(1)
            if self._ticks() - done.saved_at >= SAVE_EVERY_SECONDS:
                self._save(plan, done, "running", share)
        return "done", ""

    def _fetch_one(
        self,
        campaign: CampaignSpec,
        customer_id: str,
        identifier: str,
        ceiling: int,
        until: datetime | None,
    ) -> bool:
        """One customer's code (True), or False when `until` came first. Raises TalonRejected,
        or the last TalonError after Talon.One failed several times in a row."""
        failures = 0
        while True:
            if not self._wait_for_share(ceiling, until):
                return False
            try:
                self._coupons.issue(campaign, customer_id, identifier, warm=True)
                return True
            except TalonRateLimited as error:  # the budget (live traffic) or a 429: wait
                self._pause(error.retry_after_seconds or 1.0, until)
            except TalonRejected:
                raise
            except TalonError as error:
                failures += 1
                log.warning(
                    "warm_up_talon_failed",
                    extra={"campaign": campaign.slug, "reason": str(error), "failures": failures},
                )
                if failures >= FAILURES_BEFORE_STOPPING:
                    raise
                self._pause(min(2.0**failures, LONGEST_BACKOFF_SECONDS), until)

    def _wait_for_share(self, ceiling: int, until: datetime | None) -> bool:
        """Wait while every process together has spent the warm-up's share of the window."""
        while self._budget.spent_in_window() >= ceiling:
            if self._is_past(until):
                return False
            self._sleep(POLL_SECONDS)
        return not self._is_past(until)

    def _pause(self, seconds: float, until: datetime | None) -> None:
        """Sleep `seconds` (at most until `until`), in short steps a Ctrl-C cuts short."""
        ends = self._ticks() + min(seconds, LONGEST_BACKOFF_SECONDS)
        while self._ticks() < ends and not self._is_past(until):
            self._sleep(min(POLL_SECONDS, max(ends - self._ticks(), 0.0)))

    def _is_past(self, until: datetime | None) -> bool:
        return until is not None and self._clock() >= until

    def _is_stale(self, updated_at: datetime) -> bool:
        return (self._clock() - updated_at).total_seconds() > STALE_AFTER_SECONDS

    def _customers(
        self, db: Session, segment: Sequence[str] | None
    ) -> tuple[list[str], tuple[str, ...]]:
        """Directory customer ids (not opted out), all or the segment's; entries not found."""
        rows = db.execute(
            select(Customer.customer_id, Customer.phone_e164)
            .outerjoin(OptOut, OptOut.phone_e164 == Customer.phone_e164)
            .where(func.coalesce(OptOut.opted_out, False).is_(False))
            .order_by(Customer.id)
        ).all()
        if segment is None:
            return [row.customer_id for row in rows], ()
        by_id = {row.customer_id: row.customer_id for row in rows}
        by_phone = {row.phone_e164: row.customer_id for row in rows}
        chosen: dict[str, None] = {}
        missing: list[str] = []
        for entry in segment:
            customer_id = by_id.get(entry) or by_phone.get(self._as_phone(entry))
            if customer_id is None:
                missing.append(entry)
            else:
                chosen[customer_id] = None
        return list(chosen), tuple(missing)

    def _as_phone(self, entry: str) -> str:
        try:
            return to_e164(entry, self._region)
        except InvalidPhoneNumber:
            return ""

    def _save(
        self, plan: WarmPlan, done: _Progress, state: str, share: float, detail: str = ""
    ) -> None:
        """Write how far the run got (the console's "warm: N of M")."""
        now = self._clock()
        with self._writes.begin() as db:
            row = db.get(WarmUp, plan.campaign_slug)
            if row is None:
                row = WarmUp(campaign_slug=plan.campaign_slug, started_at=now)
                db.add(row)
            elif row.state not in RUNNING_STATES:
                row.started_at = now
            row.state, row.total, row.warmed, row.calls = state, plan.total, done.warmed, done.calls
            row.budget_share, row.updated_at, row.detail = share, now, detail or None
        done.saved_at = self._ticks()


def _stored_identifiers(db: Session, campaign_slug: str, identifiers: Iterable[str]) -> set[str]:
    """Which of `identifiers` already have a code stored for the campaign."""
    wanted = list(identifiers)
    stored: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        stored.update(
            db.scalars(
                select(IssuedCoupon.identifier).where(
                    IssuedCoupon.campaign_slug == campaign_slug,
                    IssuedCoupon.identifier.in_(wanted[start : start + CHUNK]),
                )
            )
        )
    return stored
