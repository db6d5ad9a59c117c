"""This person, this campaign → their code: the one place that asks Talon.One for a coupon.

`Coupons.claim` finds the remembered code, otherwise asks Talon.One (through the shared
budget, which the client applies), remembers the answer exactly once (a UNIQUE
(campaign, identifier) row: two processes asking at once store one code, and both answer
with it), or says the code is owed when Talon.One is slow, down or over budget. SMS, the
landing page, birthdays, the console's rehearsal and the deferred-code worker all go through
here; none of them calls the Talon.One client's coupon endpoint itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from datetime import time as time_of_day

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignSpec
from selfserve.coupons.code_pages import CodePages
from selfserve.coupons.deferrals import (
    OWED_REFERRAL_CODE,
    Deferral,
    Owed,
    owed_with_referral,
    record_deferral,
)
from selfserve.coupons.issued import (
    CAPPED,
    WARM_UP,
    ClaimResult,
    CodeCaps,
    Deferred,
    Issued,
    IssuedCode,
    Refused,
    Touch,
    find_issued_code,
    take_warm_code,
)
from selfserve.coupons.replies import identifier_for
from selfserve.errors import CodeCapReached, TalonError, TalonRateLimited, TalonRejected
from selfserve.models import IssuedCoupon, utcnow
from selfserve.ops import CAP_REFUSED, count_abuse, insert_ignoring_duplicates, write_turn
from selfserve.talon import Coupon, CouponRequest, TalonClient, log_talon_error

log = logging.getLogger(__name__)
OWED_WITH_REFERRAL = "owed as a referred friend's coupon: the worker creates it"


class Coupons:
    """Claims coupons with one Talon.One client (the webhook's short timeout, or the worker's).

    `pause_after_failure_seconds`: after a timeout, refusal or 5xx, claims that may be owed
    are owed at once for that long (in this process) instead of each waiting out the timeout
    again: during an outage each web process asks Talon.One about once in that time.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        talon: TalonClient,
        *,
        code_pages: CodePages,
        enqueue_owed: Callable[[int, int], None] | None = None,
        pause_after_failure_seconds: float = 0.0,
        clock: Callable[[], datetime] = utcnow,
        caps: CodeCaps | None = None,
    ) -> None:
        self._sessions = sessions
        self._talon = talon
        self.code_pages = code_pages  # the code page's token goes on every row we store
        # With a queue, a code Talon.One cannot give now is owed and texted later
        # (enqueue_owed(row id, attempt) queues the job); without one, claims are refused.
        self._enqueue_owed = enqueue_owed
        self._pause_seconds = pause_after_failure_seconds
        self._paused_until = 0.0  # time.monotonic() before which claims are owed at once
        self._clock = clock
        self._caps = caps  # None: no caps (the worker pays codes already promised)
        self._write_turn = write_turn(sessions.kw["bind"])  # SQLite: one writer at a time

    @property
    def can_owe(self) -> bool:
        """True when a code Talon.One cannot give now can be owed (a queue is there)."""
        return self._enqueue_owed is not None

    def identifier_for(self, campaign: CampaignSpec, customer_id: str, keyword: str) -> str:
        """The Talon.One identifier of this person's claim on the campaign (today's date)."""
        return identifier_for(campaign, customer_id, keyword, self._clock())

    def owe(self, db: Session, deferral: Deferral) -> Owed | None:
        """Owe the code, inside the caller's transaction; hand the result to `hand_to_worker`
        after the commit (None: a job for it is already on its way)."""
        token = None  # an advocate's referral code has no code page
        if deferral.kind != OWED_REFERRAL_CODE:
            token = self.code_pages.token_for(deferral.campaign_slug, deferral.identifier)
        return record_deferral(db, deferral, self._clock(), code_token=token)

    def hand_to_worker(self, owed: Owed | None) -> None:
        """Queue the job for a code owed in a committed transaction."""
        if owed is None or self._enqueue_owed is None:
            return
        try:
            self._enqueue_owed(*owed)
        except Exception:  # the row is committed: the worker's sweeper will find it
            log.exception("deferred_enqueue_failed", extra={"deferred_id": owed[0]})

    def claim(
        self,
        campaign: CampaignSpec,
        customer_id: str,
        identifier: str,
        *,
        may_owe: bool,
        known_missing: bool = False,
        first_code: bool = False,
        nothing_owed: bool = False,
        then: Callable[[Session, IssuedCode], None] | None = None,
        attributes: tuple[tuple[str, str], ...] = (),
        touch: Touch | None = None,
    ) -> ClaimResult:
        """The customer's code, or why not. `may_owe`: a code Talon.One cannot give now is
        owed (Deferred) rather than refused. `known_missing`, `then` and `attributes` as for
        `issue`. A new code over a cap is Refused("capped") before Talon.One is asked;
        `first_code`: the caller has just read that the customer holds no code at all (so
        today's counts are zero, no need to count them). A plain claim (no `attributes`)
        of a code owed as a referred friend's coupon is Deferred(owed_already=True) without
        asking Talon.One: the worker creates it with `.referralCode` and thanks the advocate
        (`nothing_owed`: the caller has just read that no code is owed in the campaign).
        `touch`: where the customer came from, kept with a fresh code."""
        if not attributes and not nothing_owed:
            with self._sessions() as db:
                if owed_with_referral(db, campaign.slug, identifier):
                    return Deferred(OWED_WITH_REFERRAL, owed_already=True)
        if self._caps is not None:
            early = self._known_or_capped(
                campaign, customer_id, identifier, known_missing, first_code
            )
            if early is not None:
                return early
            known_missing = True
        if may_owe and time.monotonic() < self._paused_until:
            return Deferred("Talon.One failed a moment ago")
        try:
            code = self.issue(
                campaign,
                customer_id,
                identifier,
                known_missing=known_missing,
                then=then,
                attributes=attributes,
                touch=touch,
            )
        except TalonError as error:
            return self._unanswered(campaign, error, may_owe)
        return Issued(code)

    def _unanswered(self, campaign: CampaignSpec, error: TalonError, may_owe: bool) -> ClaimResult:
        """Talon.One gave no code: Refused (configuration, or nothing may owe it) or Deferred;
        a failure (not the budget or a 429, which have their own wait) pauses inline asks."""
        log_talon_error(campaign.slug, error)
        if isinstance(error, TalonRejected):
            return Refused("failed", str(error))
        if not may_owe:
            return Refused("talon_unavailable", str(error))
        if not isinstance(error, TalonRateLimited):
            self._paused_until = time.monotonic() + self._pause_seconds
        return Deferred(str(error))

    def _known_or_capped(
        self,
        campaign: CampaignSpec,
        customer_id: str,
        identifier: str,
        known_missing: bool,
        first_code: bool,
    ) -> Issued | Refused | None:
        """The remembered code, or Refused("capped") for a new code over a cap; None: ask."""
        known = None if known_missing else self._known(campaign.slug, identifier)
        if known is not None:
            return Issued(known)
        try:
            self._check_caps(campaign, customer_id, first_code=first_code)
        except CodeCapReached as refusal:
            return Refused(CAPPED, str(refusal))
        return None

    def issue(
        self,
        campaign: CampaignSpec,
        customer_id: str,
        identifier: str,
        *,
        dry_run: bool | None = None,
        known_missing: bool = False,
        then: Callable[[Session, IssuedCode], None] | None = None,
        attributes: tuple[tuple[str, str], ...] = (),
        warm: bool = False,
        touch: Touch | None = None,
    ) -> IssuedCode:
        """Create or retrieve the customer's coupon at Talon.One and keep it.

        `known_missing`: the caller has just read that no code is stored (skip that read).
        `attributes`: the coupon's custom attributes (a referred friend's `referralCode`).
        `then(db, code)` runs inside the transaction that stores a fresh code. `dry_run`
        asks Talon.One with X-DRY-RUN and stores nothing. `warm`: a warm-up fetches the
        code ahead of the customer's ask (stored as not yet asked for). `touch`: where the
        customer came from (kept with a fresh code; sent as custom coupon attributes when the
        campaign sets `coupon_attributes`). Raises TalonRejected
        (configuration) or TalonUnavailable/TalonRateLimited (transient).
        """
        if not known_missing:
            known = self._known(campaign.slug, identifier, warm=warm)
            if known is not None:
                return known
        touch = touch or Touch(WARM_UP if warm else "")
        if campaign.coupon_attributes:
            attributes = (*attributes, *touch.attributes())
        coupon = self._talon.coupon(
            _request_for(campaign, customer_id, identifier, attributes), dry_run=dry_run
        )
        if dry_run or (dry_run is None and self._talon.dry_run):
            # Talon.One stored nothing (TALON_DRY_RUN, or the console's rehearsal): neither
            # do we, or the rehearsal's code would be handed out again as a real one.
            return IssuedCode(coupon.code, coupon.expires_at, coupon.starts_at, fresh=True)
        with self._write_turn, self._sessions.begin() as db:
            fresh = self._remember(
                db, campaign.slug, customer_id, identifier, coupon, warm=warm, touch=touch
            )
            if then is not None and not warm:
                then(db, fresh)
        return fresh

    def _known(
        self, campaign_slug: str, identifier: str, *, warm: bool = False
    ) -> IssuedCode | None:
        """The remembered code, if any; a warmed one counts as issued at the customer's first
        ask (not at a warm-up's: `warm`)."""
        with self._sessions() as db:
            known = find_issued_code(db, campaign_slug, identifier)
        if known is None or warm or not known.warm:
            return known
        return self._first_ask(known, campaign_slug, identifier)

    def _check_caps(self, campaign: CampaignSpec, customer_id: str, *, first_code: bool) -> None:
        """Raise CodeCapReached (and count it) when this person may not get a new code today."""
        assert self._caps is not None  # noqa: S101 - only called with caps
        per_campaign = campaign.option("max_codes_per_day")
        overall = self._caps.per_number_per_day
        if not overall and not per_campaign:
            return
        today, in_campaign = (0, 0) if first_code else self._counts_today(campaign, customer_id)
        cap = ""
        if overall and today >= overall:
            cap = "per number per day"
        elif per_campaign and in_campaign >= int(per_campaign):
            cap = "campaign max_codes_per_day"
        if not cap:
            return
        with self._write_turn, self._sessions.begin() as db:
            count_abuse(db, campaign.slug, CAP_REFUSED, self._clock().date())
        log.info("code_cap_refused", extra={"campaign": campaign.slug, "cap": cap})
        raise CodeCapReached(cap)

    def _counts_today(self, campaign: CampaignSpec, customer_id: str) -> tuple[int, int]:
        """New codes this customer got today (UTC): in all campaigns, and in this one."""
        since = datetime.combine(self._clock().date(), time_of_day.min, tzinfo=UTC)
        today = select(func.count()).where(
            IssuedCoupon.customer_id == customer_id, IssuedCoupon.issued_at >= since
        )
        with self._sessions() as db:
            overall = db.execute(today).scalar_one()
            if not campaign.option("max_codes_per_day"):
                return overall, 0
            mine = today.where(IssuedCoupon.campaign_slug == campaign.slug)
            return overall, db.execute(mine).scalar_one()

    def _first_ask(self, known: IssuedCode, campaign_slug: str, identifier: str) -> IssuedCode:
        """A warmed code asked for: fresh to the customer the first time only."""
        with self._write_turn, self._sessions.begin() as db:
            first = take_warm_code(db, campaign_slug, identifier)
        return IssuedCode(known.code, known.expires_at, known.starts_at, fresh=first)

    def _remember(
        self,
        db: Session,
        campaign_slug: str,
        customer_id: str,
        identifier: str,
        coupon: Coupon,
        *,
        warm: bool = False,
        touch: Touch,
    ) -> IssuedCode:
        """Store Talon.One's answer once: ours, or the one another process stored first."""
        inserted = insert_ignoring_duplicates(
            db,
            IssuedCoupon.__table__,
            {
                "campaign_slug": campaign_slug,
                "identifier": identifier,
                "customer_id": customer_id,
                "code": coupon.code,
                "talon_coupon_id": coupon.talon_id,
                "starts_at": coupon.starts_at,
                "expires_at": coupon.expires_at,
                "issued_at": self._clock(),
                "code_token": self.code_pages.token_for(campaign_slug, identifier),
                "warm": warm,
                "channel": touch.channel[:16] or None,
                "keyword": touch.keyword[:64] or None,
                "source": touch.source[:64] or None,
            },
        )
        if not inserted and not warm:
            # A warm-up stored it while we asked: this ask is the customer's first.
            take_warm_code(db, campaign_slug, identifier)
        # Ours (in UTC, as the database gives it back, so every later reply renders the
        # same), or the one another process stored first: codes never fork.
        stored = (
            IssuedCode(coupon.code, _utc(coupon.expires_at), _utc(coupon.starts_at), True)
            if inserted
            else find_issued_code(db, campaign_slug, identifier)
        )
        assert stored is not None  # noqa: S101 - inserted or already there
        return IssuedCode(stored.code, stored.expires_at, stored.starts_at, fresh=True)


def _request_for(
    campaign: CampaignSpec,
    customer_id: str,
    identifier: str,
    attributes: tuple[tuple[str, str], ...] = (),
) -> CouponRequest:
    assert campaign.application_id is not None  # noqa: S101 - validated on import
    assert campaign.campaign_id is not None  # noqa: S101 - validated on import
    return CouponRequest(
        application_id=campaign.application_id,
        campaign_id=campaign.campaign_id,
        external_campaign_id=campaign.external_campaign_id,
        identifier=identifier,
        recipient_integration_id=customer_id if campaign.recipient else None,
        usage_limit=campaign.usage_limit,
        attributes=attributes,
    )


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None
