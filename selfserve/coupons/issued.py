"""What a claim for a code gives back, and the reads of codes already stored.

`Coupons.claim` (codes.py) answers with one of Issued, Deferred or Refused; the fast path,
the router and the landing pages read stored codes with `find_issued_code`, and a warmed
code's first ask is taken with `take_warm_code`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from selfserve.models import IssuedCoupon


@dataclass(frozen=True)
class IssuedCode:
    """A code for one customer and campaign, from our records or fresh from Talon.One."""

    code: str
    expires_at: datetime | None
    starts_at: datetime | None
    fresh: bool  # new to the customer: just issued, or fetched ahead and asked for now
    warm: bool = False  # fetched ahead by a warm-up and not asked for yet


@dataclass(frozen=True)
class Issued:
    """The customer has their code (remembered, or fresh from Talon.One)."""

    code: IssuedCode


@dataclass(frozen=True)
class Deferred:
    """Talon.One could not give the code in time: it is owed and texted later.
    `owed_already`: it was owed before this claim (a referred friend's coupon, which the
    worker creates with the referral): the caller owes nothing more."""

    reason: str
    owed_already: bool = False


@dataclass(frozen=True)
class Refused:
    """No code now and none owed: `outcome` is "failed" (configuration) or
    "talon_unavailable" (nothing can owe it)."""

    outcome: str
    reason: str


ClaimResult = Issued | Deferred | Refused

# How a code reached its customer (Touch.channel): the redemption reports' "channel".
TEXT, LANDING, REFERRAL, BIRTHDAY, WARM_UP = "text", "landing", "referral", "birthday", "warm-up"


@dataclass(frozen=True)
class Touch:
    """Where a code's customer came from, kept with the code when it is first stored (first
    touch): the channel, the keyword texted, and the poster location (`src`)."""

    channel: str
    keyword: str = ""
    source: str = ""

    def attributes(self) -> tuple[tuple[str, str], ...]:
        """Custom coupon attributes for Talon.One (campaign `coupon_attributes = true`)."""
        named = (
            ("selfserveSource", self.source),
            ("selfserveKeyword", self.keyword),
            ("selfserveChannel", self.channel),
        )
        return tuple((name, value) for name, value in named if value)


REFERRAL_TOUCH = Touch(REFERRAL)  # a referred friend's coupon


CAPPED = "capped"  # Refused.outcome: a new code over a per-person cap


@dataclass(frozen=True)
class CodeCaps:
    """New codes one person may get per (UTC) day: across all campaigns (0: no cap), and
    per campaign when it sets `max_codes_per_day`. A remembered code never counts."""

    per_number_per_day: int = 10


def find_issued_code(db: Session, campaign_slug: str, identifier: str) -> IssuedCode | None:
    """The code already issued for this campaign and identifier, if any."""
    row = db.execute(
        select(
            IssuedCoupon.code, IssuedCoupon.expires_at, IssuedCoupon.starts_at, IssuedCoupon.warm
        ).where(IssuedCoupon.campaign_slug == campaign_slug, IssuedCoupon.identifier == identifier)
    ).first()
    if row is None:
        return None
    return IssuedCode(row.code, row.expires_at, row.starts_at, fresh=False, warm=row.warm)


def take_warm_code(db: Session, campaign_slug: str, identifier: str) -> bool:
    """The customer asks for a code a warm-up fetched: True for the one ask that is first.

    A warmed code is not "sent" until asked for; this first ask is when it counts as issued
    (message log, reports). A conditional UPDATE, so two asks at once (any process) make
    one first ask.
    """
    taken = db.execute(
        update(IssuedCoupon)
        .where(
            IssuedCoupon.campaign_slug == campaign_slug,
            IssuedCoupon.identifier == identifier,
            IssuedCoupon.warm.is_(True),
        )
        .values(warm=False)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)
