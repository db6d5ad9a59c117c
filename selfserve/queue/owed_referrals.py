"""The worker's side of owed referrals: an advocate's referral code, a referred friend's coupon.

A REFER that Talon.One could not answer in time owes the advocate's code: the worker asks
Talon.One once (through `ReferralCodes`, which remembers it, so REFER later answers from the
database) and words the campaign's reply around it. A friend's coupon owed the same way is
created with the referral code as its `.referralCode` attribute; the advocate's points and
"your friend joined" text follow once the coupon's text is handed to the outbox (each once:
the use's points state and the outbox's key). The friend's place on the code was taken when
they texted; `DeferredCodes` gives it back when the owed coupon ends without being sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from selfserve.campaigns import CampaignSpec
from selfserve.coupons import REFERRAL_TOUCH, Coupons
from selfserve.journeys import Referrals


@dataclass(frozen=True)
class OwedText:
    """What the worker texts for an owed code, and what follows once it is handed over."""

    text: str
    media_url: str | None = None
    then: Callable[[], object] | None = None  # after the outbox has it: thank the advocate
    code: str = ""  # for a WhatsApp template's {code} once the 24-hour window has closed


class OwedReferrals:
    """Fetches owed referral codes and referred coupons with the worker's Talon.One client."""

    def __init__(self, referrals: Referrals, coupons: Coupons) -> None:
        self._referrals = referrals  # with the worker's full-timeout Talon.One client
        self._coupons = coupons

    def advocate_code(
        self,
        campaign: CampaignSpec,
        customer_id: str,
        phone_e164: str,
        first_name: str,
        keyword: str,
    ) -> OwedText:
        """The advocate's code (asked of Talon.One once, remembered) in the campaign's reply.
        Raises TalonError as `ReferralCodes.claim` does."""
        referral = self._referrals.advocate_code(campaign, customer_id, phone_e164)
        text = self._referrals.advocate_reply(campaign, referral, first_name, keyword)
        return OwedText(text, code=referral.code)

    def friend_coupon(
        self,
        campaign: CampaignSpec,
        customer_id: str,
        identifier: str,
        referral_code_id: int | None,
        *,
        first_name: str,
        keyword: str,
    ) -> OwedText:
        """The friend campaign's coupon with `.referralCode`, then the advocate's thanks.
        Raises TalonError as `Coupons.issue` does."""
        redemption = (
            self._referrals.owed(referral_code_id, campaign, identifier)
            if referral_code_id is not None
            else None
        )
        issued = self._coupons.issue(
            campaign,
            customer_id,
            identifier,
            attributes=redemption.attributes if redemption else (),
            touch=REFERRAL_TOUCH,
        )
        text = self._coupons.code_pages.reply(
            campaign,
            identifier,
            issued.code,
            issued.expires_at,
            issued.starts_at,
            first_name=first_name,
            keyword=keyword,
        )
        then = None
        if redemption is not None:
            then = partial(self._referrals.thank_advocate, redemption, customer_id)
        media_url = self._coupons.code_pages.media_url(campaign, identifier)
        return OwedText(text, media_url, then, code=issued.code)
