"""Loyalty points for taking part: a campaign's `award_points`, given once per customer.

Talon.One's add_loyalty_points has no idempotency key, so "once" is ours to keep: a row under
UNIQUE (campaign, customer) is claimed before the POST and marked after it. A retry, a
duplicate text or a second process finds the row and posts nothing. When the POST surely did
not happen (429, our budget, a 4xx, a refused connection, a 5xx) the row goes back to be tried
at the customer's next text; when it may have happened (a timeout, or a crash mid-call) the row
stays `uncertain`/`claimed` and is never posted again automatically: an operator checks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook
from selfserve.errors import TalonError, TalonRejected, TalonTimedOut
from selfserve.models import LoyaltyAward, utcnow
from selfserve.ops import insert_ignoring_duplicates
from selfserve.talon import TalonClient

log = logging.getLogger(__name__)

# Outcomes of a text that count as taking part in a campaign.
TAKING_PART = frozenset(
    {
        "code_issued",
        "code_resent",
        "code_sent_by_sms",  # a code owed when Talon.One was busy, texted by the worker
        "loyalty_balance",
        "competition_entered",
        "competition_already_entered",
        "birthday_sent",
    }
)
CLAIMED, AWARDED, RETRY, UNCERTAIN = "claimed", "awarded", "retry", "uncertain"


@dataclass(frozen=True)
class TakingPart:
    """What came of a customer's visit to a campaign, for callers without a text's Outcome
    (the QR landing page): one of the outcomes above earns the campaign's points."""

    outcome: str
    campaign_slug: str
    customer_id: str


class Awards:
    """A campaign's `award_points` for customers taking part, with its collaborators.

    With `enqueue(campaign_slug, customer_id)` (the web processes) the award goes to the
    worker, off the answer's path; without (the worker itself), it is made at once.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        talon: TalonClient,
        campaigns: CampaignBook,
        *,
        enqueue: Callable[[str, str], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._talon = talon
        self._campaigns = campaigns
        self._enqueue = enqueue
        self._clock = clock

    def took_part(self, outcome: str, campaign_slug: str | None, customer_id: str | None) -> None:
        """Award the campaign's points if `outcome` is the customer taking part (once).

        Never raises: the customer has their answer, and their next visit tries again.
        """
        try:
            award_for_taking_part(
                self._sessions,
                self._talon,
                self._campaigns,
                TakingPart(outcome, campaign_slug or "", customer_id or ""),
                self._clock,
                self._enqueue,
            )
        except Exception:
            log.exception(
                "award_enqueue_failed",
                extra={"campaign": campaign_slug, "customer_id": customer_id},
            )

    def award(self, campaign_slug: str, customer_id: str) -> str | None:
        """The worker's side: post the campaign's points for the customer, once."""
        return award_campaign_points(
            self._sessions, self._talon, self._campaigns, campaign_slug, customer_id, self._clock
        )


def award_for_taking_part(
    sessions: sessionmaker[Session],
    talon: TalonClient,
    campaigns: CampaignBook,
    outcome: object,
    clock: Callable[[], datetime] = utcnow,
    enqueue: Callable[[str, str], None] | None = None,
) -> str | None:
    """Give the campaign's `award_points` if this outcome is the customer taking part.

    `outcome` is anything with `outcome`, `campaign_slug` and `customer_id` attributes (a
    text's Outcome, or a TakingPart). With `enqueue(campaign_slug, customer_id)` the award
    goes to the worker ("queued"), off the webhook's path; without, it is made here. Returns
    the award's state, or None when there is nothing to award. Never raises for Talon.One
    trouble: taking part matters more than the points.
    """
    slug = getattr(outcome, "campaign_slug", None)
    customer_id = getattr(outcome, "customer_id", None)
    if getattr(outcome, "outcome", None) not in TAKING_PART or not slug or not customer_id:
        return None
    campaign = campaigns.by_slug(slug)
    if campaign is None or not campaign.option("award_points"):
        return None
    if enqueue is None:
        return award_campaign_points(sessions, talon, campaigns, slug, customer_id, clock)
    with sessions() as db:
        state = db.scalar(
            select(LoyaltyAward.state).where(
                LoyaltyAward.campaign_slug == slug, LoyaltyAward.customer_id == customer_id
            )
        )
    if state in (AWARDED, UNCERTAIN, CLAIMED):
        return None
    enqueue(slug, customer_id)
    return "queued"


def award_campaign_points(
    sessions: sessionmaker[Session],
    talon: TalonClient,
    campaigns: CampaignBook,
    campaign_slug: str,
    customer_id: str,
    clock: Callable[[], datetime] = utcnow,
) -> str | None:
    """The worker's side: post the campaign's award_points for the customer, once."""
    campaign = campaigns.by_slug(campaign_slug)
    if campaign is None or not campaign.option("award_points"):
        return None
    assert campaign.loyalty_program_id is not None  # noqa: S101 - validated on import
    return award_points_once(
        sessions,
        talon,
        campaign_slug=campaign.slug,
        customer_id=customer_id,
        loyalty_program_id=campaign.loyalty_program_id,
        points=float(campaign.option("award_points")),
        clock=clock,
    )


def award_points_once(
    sessions: sessionmaker[Session],
    talon: TalonClient,
    *,
    campaign_slug: str,
    customer_id: str,
    loyalty_program_id: int,
    points: float,
    clock: Callable[[], datetime] = utcnow,
) -> str:
    """POST add_loyalty_points for this customer and campaign unless it was done before.

    Plain values in, so it can run as a queued job. Returns: awarded (now), already_awarded,
    in_progress (another process holds the claim, or a crash left it), retry (surely not
    applied; tried again next time), uncertain (a timeout: never retried automatically).
    """
    with sessions.begin() as db:
        if not _claim(db, campaign_slug, customer_id, loyalty_program_id, points, clock()):
            state = db.scalar(
                select(LoyaltyAward.state).where(
                    LoyaltyAward.campaign_slug == campaign_slug,
                    LoyaltyAward.customer_id == customer_id,
                )
            )
            return "already_awarded" if state == AWARDED else "in_progress"
    try:
        talon.add_loyalty_points(
            customer_id, loyalty_program_id, points, name=f"selfserve:{campaign_slug}"
        )
    except TalonError as error:
        return _not_awarded(sessions, campaign_slug, customer_id, error, clock)
    _mark(sessions, campaign_slug, customer_id, AWARDED, None, clock)
    log.info(
        "loyalty_points_awarded",
        extra={"campaign": campaign_slug, "customer_id": customer_id, "points": points},
    )
    return AWARDED


def _not_awarded(
    sessions: sessionmaker[Session],
    campaign_slug: str,
    customer_id: str,
    error: TalonError,
    clock: Callable[[], datetime],
) -> str:
    """A timeout may have applied the points (uncertain); anything else surely did not."""
    if isinstance(error, TalonTimedOut):
        _mark(sessions, campaign_slug, customer_id, UNCERTAIN, str(error), clock)
        log.warning(
            "loyalty_award_uncertain",
            extra={"campaign": campaign_slug, "customer_id": customer_id, "reason": str(error)},
        )
        return UNCERTAIN
    _mark(sessions, campaign_slug, customer_id, RETRY, str(error), clock)
    level = logging.ERROR if isinstance(error, TalonRejected) else logging.WARNING
    log.log(
        level,
        "loyalty_award_failed",
        extra={
            "campaign": campaign_slug,
            "customer_id": customer_id,
            "reason": str(error),
            "request_uuid": getattr(error, "request_uuid", None),
        },
    )
    return RETRY


def _claim(
    db: Session,
    campaign_slug: str,
    customer_id: str,
    loyalty_program_id: int,
    points: float,
    now: datetime,
) -> bool:
    """Take the award row: a new one, or one whose last attempt surely failed."""
    if insert_ignoring_duplicates(
        db,
        LoyaltyAward.__table__,
        {
            "campaign_slug": campaign_slug,
            "customer_id": customer_id,
            "loyalty_program_id": loyalty_program_id,
            "points": points,
            "state": CLAIMED,
            "claimed_at": now,
        },
    ):
        return True
    retaken = db.execute(
        update(LoyaltyAward)
        .where(
            LoyaltyAward.campaign_slug == campaign_slug,
            LoyaltyAward.customer_id == customer_id,
            LoyaltyAward.state == RETRY,
        )
        .values(state=CLAIMED, claimed_at=now)
        .returning(LoyaltyAward.id)
    ).first()
    return retaken is not None


def _mark(
    sessions: sessionmaker[Session],
    campaign_slug: str,
    customer_id: str,
    state: str,
    detail: str | None,
    clock: Callable[[], datetime],
) -> None:
    with sessions.begin() as db:
        db.execute(
            update(LoyaltyAward)
            .where(
                LoyaltyAward.campaign_slug == campaign_slug,
                LoyaltyAward.customer_id == customer_id,
            )
            .values(
                state=state,
                detail=detail,
                awarded_at=clock() if state == AWARDED else None,
            )
        )
