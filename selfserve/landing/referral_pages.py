"""`/r/<code>`: a referral code's landing page, the friend's way in without texting.

The page is the friend campaign's own (its offer, look and one-time-code flow, with the code
kept under the friend campaign's slug); once the visitor has proved their number they get
exactly what texting the referral code gives: the friend campaign's coupon created with the
`.referralCode` attribute, the use recorded, the advocate's points and text. The same
refusals too: their own code, a code used up, a friend who already has the offer. An unknown
or expired code is the unknown-campaign page, so codes cannot be probed here either.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook
from selfserve.coupons import IssuedCode
from selfserve.customers import Identity, identify
from selfserve.errors import UnknownCampaign
from selfserve.journeys import RedemptionRefused, Referrals
from selfserve.landing.claims import Claim, LandingClaims
from selfserve.landing.flow import LandingFlow, LandingPage
from selfserve.landing.verification import VerifiedNumber

log = logging.getLogger(__name__)


class ReferralPages:
    """What `/r/<code>` asks of the domain: the page for a live code, the friend's claim."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        flow: LandingFlow,
        claims: LandingClaims,
        campaigns: CampaignBook,
        referrals: Referrals,
        *,
        identity_secret: str,
    ) -> None:
        self._sessions = sessions
        self._flow = flow
        self._claims = claims  # the web rows of the message log, as for /q/<slug>
        self._campaigns = campaigns
        self._referrals = referrals
        self._secret = identity_secret

    def page(self, typed_code: str) -> LandingPage:
        """The friend campaign's page for a live referral code; raises UnknownCampaign for
        an unknown or expired code (or one whose campaigns ended), as for an unknown slug."""
        with self._sessions() as db:
            live = self._referrals.live(db, typed_code)
        if live is None:
            raise UnknownCampaign(typed_code[:64])
        # "Text … instead" texts the referral code itself: the same referral by SMS.
        return replace(self._flow.page(live.friend_campaign.slug), keyword=live.referral.code)

    def claim(self, typed_code: str, verified: VerifiedNumber) -> Claim:
        """The proved friend's coupon through the referral, or why not (outcome `refused`,
        its `message` the same polite answer a text gets; `closed` when the code is gone).
        Every answer but `closed` is a web row of the message log, as on /q/<slug>."""
        with self._sessions() as db:
            who = identify(db, verified.phone_e164, self._secret)
            found = self._referrals.find(db, typed_code, who.customer_id)
        if isinstance(found, RedemptionRefused):
            return self._refused(found, verified, who)
        if found is None or found.friend_campaign.slug != verified.campaign_slug:
            return Claim("closed", "")
        stored: list[IssuedCode] = []
        result = self._referrals.redeem(
            found, who.customer_id, then=lambda _db, code: stored.append(code)
        )
        if isinstance(result, RedemptionRefused):  # another friend took the last place
            return self._refused(result, verified, who)
        if stored:  # this visit stored the friend's coupon: the advocate's points and text
            self._referrals.thank_advocate(found, who.customer_id)
        return self._claims.referred(
            found.friend_campaign, verified, who, found.identifier, result, found.referral.id
        )

    def _refused(
        self, refusal: RedemptionRefused, verified: VerifiedNumber, who: Identity
    ) -> Claim:
        log.info("referral_page_refused", extra={"outcome": refusal.outcome})
        campaign = self._campaigns.by_slug(refusal.campaign_slug)
        if campaign is not None:
            self._claims.refused(campaign, verified, who, refusal.outcome)
        return Claim("refused", "", message=refusal.text)
