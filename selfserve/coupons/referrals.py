"""This advocate, this referral campaign → their referral code: asked of Talon.One once.

GET /customer_engagement/referral has no idempotency key (each call makes a new code), so
"once" is ours to keep, exactly as for coupons: the remembered code is answered from the
database, and a fresh one is stored under UNIQUE (campaign, advocate); two processes asking at
once store one code, and both answer with it. Talon.One is called through the same client
(and so the same shared budget) as coupons.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import DEFAULT_REFERRAL_USAGE_LIMIT, CampaignSpec
from selfserve.errors import TalonError
from selfserve.models import ReferralCode, ReferralUse, utcnow
from selfserve.ops import insert_ignoring_duplicates, write_turn
from selfserve.talon import Referral, ReferralRequest, TalonClient, log_talon_error

log = logging.getLogger(__name__)

_NOT_CODE_CHARACTERS = re.compile(r"[^A-Z0-9]")


def referral_code_key(text: str) -> str:
    """A referral code as a friend may type it, normalised: any case, spaces and dashes
    optional ("ab12 cd34" and "AB12-CD34" are one code)."""
    return _NOT_CODE_CHARACTERS.sub("", text.upper())


@dataclass(frozen=True)
class StoredReferral:
    """An advocate's referral code as we keep it."""

    id: int
    campaign_slug: str
    advocate_customer_id: str
    phone_e164: str
    code: str
    expires_at: datetime | None
    usage_limit: int
    fresh: bool = False


def find_referral(db: Session, code_key: str) -> StoredReferral | None:
    """The referral code whose normalised form is `code_key`, if we issued it."""
    row = db.scalar(select(ReferralCode).where(ReferralCode.code_key == code_key))
    return _stored(row) if row is not None else None


def find_referral_by_id(db: Session, referral_id: int) -> StoredReferral | None:
    """The referral code of this row id (an owed friend's coupon keeps it), if still kept."""
    row = db.get(ReferralCode, referral_id)
    return _stored(row) if row is not None else None


def find_advocate_referral(
    db: Session, campaign_slug: str, customer_id: str
) -> StoredReferral | None:
    """The advocate's remembered code in this referral campaign, if any."""
    row = db.scalar(
        select(ReferralCode).where(
            ReferralCode.campaign_slug == campaign_slug,
            ReferralCode.advocate_customer_id == customer_id,
        )
    )
    return _stored(row) if row is not None else None


def referral_uses(db: Session, referral_id: int) -> int:
    """How many friends have redeemed this referral code here."""
    return int(
        db.scalar(
            select(func.count())
            .select_from(ReferralUse)
            .where(ReferralUse.referral_code_id == referral_id)
        )
        or 0
    )


class ReferralCodes:
    """Gives advocates their referral code: the remembered one, or Talon.One's, kept once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        talon: TalonClient,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._talon = talon
        self._clock = clock
        self._write_turn = write_turn(sessions.kw["bind"])

    def claim(self, campaign: CampaignSpec, customer_id: str, phone_e164: str) -> StoredReferral:
        """The advocate's referral code. Raises TalonRejected (configuration) or
        TalonUnavailable/TalonRateLimited (transient) when Talon.One must be asked and cannot
        give it."""
        with self._sessions() as db:
            known = find_advocate_referral(db, campaign.slug, customer_id)
        if known is not None:
            return known
        try:
            referral = self._talon.referral(self._request_for(campaign, customer_id))
        except TalonError as error:
            log_talon_error(campaign.slug, error)
            raise
        with self._write_turn, self._sessions.begin() as db:
            return self._remember(db, campaign, customer_id, phone_e164, referral)

    def _request_for(self, campaign: CampaignSpec, customer_id: str) -> ReferralRequest:
        assert campaign.campaign_id is not None  # noqa: S101 - validated on import
        valid_days = campaign.option("valid_days")
        now = self._clock()
        return ReferralRequest(
            campaign_id=campaign.campaign_id,
            advocate_profile_integration_id=customer_id,
            usage_limit=usage_limit_of(campaign),
            start_date=now if valid_days else None,
            expiry_date=now + timedelta(days=int(valid_days)) if valid_days else None,
        )

    def _remember(
        self,
        db: Session,
        campaign: CampaignSpec,
        customer_id: str,
        phone_e164: str,
        referral: Referral,
    ) -> StoredReferral:
        """Store Talon.One's code once: ours, or the one another process stored first."""
        inserted = insert_ignoring_duplicates(
            db,
            ReferralCode.__table__,
            {
                "campaign_slug": campaign.slug,
                "advocate_customer_id": customer_id,
                "phone_e164": phone_e164,
                "code": referral.code,
                "code_key": referral_code_key(referral.code),
                "talon_referral_id": referral.talon_id,
                "starts_at": referral.starts_at,
                "expires_at": referral.expires_at,
                "usage_limit": usage_limit_of(campaign),
                "issued_at": self._clock(),
            },
        )
        stored = find_advocate_referral(db, campaign.slug, customer_id)
        assert stored is not None  # noqa: S101 - inserted or already there
        if inserted:
            log.info("referral_code_issued", extra={"campaign": campaign.slug})
        return StoredReferral(**{**stored.__dict__, "fresh": inserted})


def usage_limit_of(campaign: CampaignSpec) -> int:
    """Friends per referral code: the campaign's `usage_limit`, default 5."""
    limit = campaign.usage_limit
    return DEFAULT_REFERRAL_USAGE_LIMIT if limit is None else limit


def is_expired(referral: StoredReferral, now: datetime) -> bool:
    """True once the referral code's expiry has passed."""
    if referral.expires_at is None:
        return False
    expires = referral.expires_at
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return expires <= now


def _stored(row: ReferralCode) -> StoredReferral:
    return StoredReferral(
        id=row.id,
        campaign_slug=row.campaign_slug,
        advocate_customer_id=row.advocate_customer_id,
        phone_e164=row.phone_e164,
        code=row.code,
        expires_at=row.expires_at,
        usage_limit=row.usage_limit,
    )
