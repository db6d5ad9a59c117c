"""Referrals: an advocate's code shared with friends, a friend's coupon, the advocate's points.

A friend who texts an advocate's referral code (any case, spaces or dashes optional) gets the
referral campaign's `friend_campaign` coupon, created with the code as the coupon's custom
attribute `referralCode`; the friend's place is taken before Talon.One is asked (the use under
UNIQUE (code, friend) and the code's `uses` counter raised only below its usage limit, in one
transaction; given back when no coupon comes of it), and the advocate then gets `advocate_points`
(once per friend: the use's `points_state` is claimed before the call, as for award_points).
Refusals: the advocate's own code, a code used `usage_limit` times, a friend who already has the
friend campaign's coupon. An unknown or expired code is no referral: answered as any unknown word.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook, CampaignSpec, render_template, whatsapp_template
from selfserve.coupons import (
    REFERRAL_TOUCH,
    ClaimResult,
    Coupons,
    Deferred,
    Issued,
    IssuedCode,
    ReferralCodes,
    StoredReferral,
    find_issued_code,
    find_referral,
    find_referral_by_id,
    is_expired,
    referral_code_key,
    referral_uses,
)
from selfserve.customers import marketing_channel, national_format, next_send_time
from selfserve.errors import TalonError, TalonTimedOut
from selfserve.models import ReferralCode, ReferralUse, utcnow
from selfserve.ops import QuietHours, insert_ignoring_duplicates, write_turn
from selfserve.sms import Outbox
from selfserve.talon import TalonClient

log = logging.getLogger(__name__)

OWN_CODE = "That's your own code: share it with a friend instead."
USED_UP = "Sorry, that code has been used by as many friends as it can be."
ALREADY_HAVE = "You already have this offer, so the code can't be used again. Thanks!"
REFERRAL_ATTRIBUTE = "referralCode"
FRIEND_JOINED = "Your friend joined, +{points} points. Thanks for sharing! Reply STOP to opt out."
FRIEND_JOINED_NO_POINTS = "Your friend joined {name}. Thanks for sharing! Reply STOP to opt out."


class _NoPlaceLeft(Exception):
    """The referral code's last place went to another friend first."""


@dataclass(frozen=True)
class LiveReferral:
    """A referral code that works today: its referral campaign and the friend campaign."""

    referral: StoredReferral
    campaign: CampaignSpec
    friend_campaign: CampaignSpec


@dataclass(frozen=True)
class Redemption:
    """A friend may redeem this referral code: the friend campaign and the identifier."""

    referral: StoredReferral
    referral_campaign: CampaignSpec
    friend_campaign: CampaignSpec
    keyword: str
    identifier: str

    @property
    def attributes(self) -> tuple[tuple[str, str], ...]:
        """The friend coupon's custom attributes: the referral code."""
        return ((REFERRAL_ATTRIBUTE, self.referral.code),)


@dataclass(frozen=True)
class RedemptionRefused:
    """The code is a live referral code but this friend may not use it: `text` says why."""

    outcome: str
    text: str
    campaign_slug: str


class Referrals:
    """Finds referral codes in texts, redeems them for friends and rewards advocates."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        campaigns: CampaignBook,
        coupons: Coupons,
        codes: ReferralCodes,
        talon: TalonClient,
        *,
        outbox: Outbox | None = None,
        quiet_hours: QuietHours | None = None,
        sms_number: str = "",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox  # the advocate's "your friend joined" text
        self._quiet_hours = quiet_hours
        self._campaigns = campaigns
        self._coupons = coupons
        self._codes = codes
        self._talon = talon
        self._sms_number = sms_number
        self._clock = clock
        self._write_turn = write_turn(sessions.kw["bind"])

    def advocate_code(
        self, campaign: CampaignSpec, customer_id: str, phone_e164: str
    ) -> StoredReferral:
        """The advocate's referral code (remembered, or asked of Talon.One once). Raises
        TalonError when Talon.One must be asked and cannot answer."""
        return self._codes.claim(campaign, customer_id, phone_e164)

    def share_text(self, campaign: CampaignSpec, code: str) -> str:
        """A ready-to-forward line: "Text AB12-CD34 to 0480 000 000 for 20% off"."""
        friend = self._campaigns.by_slug(str(campaign.option("friend_campaign") or ""))
        number = str(campaign.option("sms_number") or self._sms_number)
        offer = ""
        if friend is not None:
            offer = str(friend.option("offer") or friend.name)
        text = f"Text {code}"
        if number:
            text += f" to {national_format(number)}"
        return text + (f" for {offer}" if offer else "")

    def advocate_reply(
        self, campaign: CampaignSpec, referral: StoredReferral, first_name: str, keyword: str
    ) -> str:
        """The referral campaign's reply around the advocate's code."""
        return render_template(
            campaign.reply,
            {
                "name": campaign.name,
                "first_name": first_name,
                "keyword": keyword,
                "code": referral.code,
                "expiry": referral.expires_at,
                "share_text": self.share_text(campaign, referral.code),
            },
        )

    def live(self, db: Session, body: str) -> LiveReferral | None:
        """The referral code `body` names, while it and both its campaigns are live; None
        for a code of nobody's, an expired one, or one whose campaigns ended."""
        key = referral_code_key(body)
        if not 4 <= len(key) <= 64:
            return None
        referral = find_referral(db, key)
        if referral is None or is_expired(referral, self._clock()):
            return None
        campaign = self._campaigns.by_slug(referral.campaign_slug)
        friend = (
            self._campaigns.by_slug(str(campaign.option("friend_campaign") or ""))
            if (campaign is not None)
            else None
        )
        if campaign is None or friend is None or not campaign.active or not friend.active:
            return None
        return LiveReferral(referral, campaign, friend)

    def find(
        self, db: Session, body: str, friend_customer_id: str
    ) -> Redemption | RedemptionRefused | None:
        """What a text that may be a referral code means; None when it is none of ours (or
        expired, or its campaign is gone): the caller answers it as an unknown keyword."""
        live = self.live(db, body)
        if live is None:
            return None
        referral, campaign, friend = live.referral, live.campaign, live.friend_campaign
        if referral.advocate_customer_id == friend_customer_id:
            return RedemptionRefused("referral_own_code", OWN_CODE, campaign.slug)
        keyword = friend.keywords[0] if friend.keywords else ""
        identifier = self._coupons.identifier_for(friend, friend_customer_id, keyword)
        if find_issued_code(db, friend.slug, identifier) is not None:
            return RedemptionRefused("referral_already_have", ALREADY_HAVE, campaign.slug)
        limit = referral.usage_limit
        if (
            limit
            and referral_uses(db, referral.id) >= limit
            and not holds_place(db, referral.id, friend_customer_id)  # owed: asking again
        ):
            return RedemptionRefused("referral_used_up", USED_UP, campaign.slug)
        return Redemption(referral, campaign, friend, keyword, identifier)

    def owed(
        self, referral_code_id: int, friend_campaign: CampaignSpec, identifier: str
    ) -> Redemption | None:
        """The redemption behind an owed friend's coupon (for the worker), while its referral
        code and campaign are still kept; None after the advocate was erased, or the referral
        campaign removed: the friend still gets the coupon, without the referral."""
        with self._sessions() as db:
            referral = find_referral_by_id(db, referral_code_id)
        campaign = self._campaigns.by_slug(referral.campaign_slug) if referral else None
        if referral is None or campaign is None:
            return None
        keyword = friend_campaign.keywords[0] if friend_campaign.keywords else ""
        return Redemption(referral, campaign, friend_campaign, keyword, identifier)

    def redeem(
        self,
        redemption: Redemption,
        friend_customer_id: str,
        then: Callable[[Session, IssuedCode], None] | None = None,
    ) -> ClaimResult | RedemptionRefused:
        """The friend's coupon with the referral code as its attribute (`then` runs in the
        commit that stores it), or USED_UP when the last place went to another friend.

        The place is taken before Talon.One is asked: the use's row (UNIQUE code and friend)
        and the code's `uses` counted up only while under its `usage_limit`, in one
        transaction, so friends redeeming at once cannot pass the limit. A claim that gives
        no coupon gives the place back."""
        placed = self._take_place(redemption.referral, friend_customer_id)
        if placed is None:
            log.info("referral_used_up", extra={"campaign": redemption.referral_campaign.slug})
            return RedemptionRefused("referral_used_up", USED_UP, redemption.referral_campaign.slug)
        result = self._coupons.claim(
            redemption.friend_campaign,
            friend_customer_id,
            redemption.identifier,
            # Owed (the caller records it as an OWED_REFERRAL_COUPON): the worker creates
            # it with the referral attribute and thanks the advocate; the place stays taken.
            may_owe=self._coupons.can_owe,
            then=then,
            attributes=redemption.attributes,
            touch=REFERRAL_TOUCH,
        )
        if placed and not isinstance(result, Issued | Deferred):
            self._give_place_back(redemption.referral.id, friend_customer_id)
        return result

    def _take_place(self, referral: StoredReferral, friend_customer_id: str) -> bool | None:
        """True: a place taken now; False: this friend already held one (a retry); None:
        the code has no place left."""
        try:
            with self._write_turn, self._sessions.begin() as db:
                if not insert_ignoring_duplicates(
                    db,
                    ReferralUse.__table__,
                    {
                        "referral_code_id": referral.id,
                        "friend_customer_id": friend_customer_id,
                        "used_at": self._clock(),
                        "points_state": "none",
                    },
                ):
                    return False
                counted = db.execute(
                    update(ReferralCode)
                    .where(
                        ReferralCode.id == referral.id,
                        or_(
                            ReferralCode.usage_limit <= 0,
                            ReferralCode.uses < ReferralCode.usage_limit,
                        ),
                    )
                    .values(uses=ReferralCode.uses + 1)
                )
                if not counted.rowcount:
                    raise _NoPlaceLeft  # rolls the use's row back
                return True
        except _NoPlaceLeft:
            return None

    def _give_place_back(self, referral_id: int, friend_customer_id: str) -> None:
        """No coupon came of the place: free it for this friend's retry or another friend."""
        with self._write_turn, self._sessions.begin() as db:
            give_place_back(db, referral_id, friend_customer_id)

    def thank_advocate(self, redemption: Redemption, friend_customer_id: str) -> str:
        """After a friend's coupon was issued: the advocate's points, then their text."""
        state = self.reward_advocate(redemption, friend_customer_id)
        self.tell_advocate(redemption, friend_customer_id)
        return state

    def tell_advocate(self, redemption: Redemption, friend_customer_id: str) -> bool:
        """Text the advocate "Your friend joined, +50 points" through the outbox, once per
        friend, only with marketing consent and never to an opted-out number; in quiet hours
        it waits for them to end. True when the text was handed to the outbox."""
        referral, campaign = redemption.referral, redemption.referral_campaign
        with self._sessions() as db:  # WhatsApp when they consented there, else SMS
            channel = marketing_channel(db, referral.phone_e164)
        if self._outbox is None or channel is None:
            return False
        self._outbox.send(
            channel=channel,
            template=whatsapp_template(campaign, {"code": referral.code}, channel),
            dedupe_key=f"referral-joined:{referral.id}:{friend_customer_id}",
            to_e164=referral.phone_e164,
            body=friend_joined_text(campaign),
            purpose="referral_joined",
            campaign_slug=campaign.slug,
            not_before=next_send_time(referral.phone_e164, self._clock(), self._quiet_hours),
        )
        return True

    def reward_advocate(self, redemption: Redemption, friend_customer_id: str) -> str:
        """Post `advocate_points` for this friend's use, once; returns the points' state."""
        campaign = redemption.referral_campaign
        points = campaign.option("advocate_points")
        if not points or campaign.loyalty_program_id is None:
            return "none"
        if not self._claim_points(redemption.referral.id, friend_customer_id):
            return "already"
        state = "awarded"
        try:
            self._talon.add_loyalty_points(
                redemption.referral.advocate_customer_id,
                campaign.loyalty_program_id,
                points,
                name=f"Referral: {campaign.name}"[:100],
            )
        except TalonError as error:
            # A timeout may have posted them: never again automatically (no idempotency key).
            state = "uncertain" if isinstance(error, TalonTimedOut) else "failed"
            log.warning(
                "referral_points_failed", extra={"campaign": campaign.slug, "why": str(error)}
            )
        self._set_points_state(redemption.referral.id, friend_customer_id, state)
        return state

    def _claim_points(self, referral_id: int, friend_customer_id: str) -> bool:
        with self._sessions.begin() as db:
            claimed = db.execute(
                update(ReferralUse)
                .where(
                    ReferralUse.referral_code_id == referral_id,
                    ReferralUse.friend_customer_id == friend_customer_id,
                    ReferralUse.points_state == "none",
                )
                .values(points_state="claimed")
            )
            return bool(claimed.rowcount)

    def _set_points_state(self, referral_id: int, friend_customer_id: str, state: str) -> None:
        with self._sessions.begin() as db:
            db.execute(
                update(ReferralUse)
                .where(
                    ReferralUse.referral_code_id == referral_id,
                    ReferralUse.friend_customer_id == friend_customer_id,
                )
                .values(points_state=state)
            )


def holds_place(db: Session, referral_id: int, friend_customer_id: str) -> bool:
    """True when this friend already took a place on the code (their coupon is owed)."""
    return (
        db.scalar(
            select(ReferralUse.id).where(
                ReferralUse.referral_code_id == referral_id,
                ReferralUse.friend_customer_id == friend_customer_id,
            )
        )
        is not None
    )


def give_place_back(db: Session, referral_id: int, friend_customer_id: str) -> None:
    """No coupon came of the friend's place (refused, failed, opted out before it was sent):
    free it, in the caller's transaction, for this friend's retry or another friend."""
    freed = db.execute(
        delete(ReferralUse).where(
            ReferralUse.referral_code_id == referral_id,
            ReferralUse.friend_customer_id == friend_customer_id,
            ReferralUse.points_state == "none",
        )
    )
    if freed.rowcount:
        db.execute(
            update(ReferralCode)
            .where(ReferralCode.id == referral_id, ReferralCode.uses > 0)
            .values(uses=ReferralCode.uses - 1)
        )


def friend_joined_text(campaign: CampaignSpec) -> str:
    """The advocate's text when a friend joins: the campaign's `friend_joined_reply`, else
    a default naming the points (or the campaign, without points)."""
    points = campaign.option("advocate_points") or 0
    template = campaign.option("friend_joined_reply") or (
        FRIEND_JOINED if points else FRIEND_JOINED_NO_POINTS
    )
    shown = int(points) if float(points).is_integer() else points
    return render_template(str(template), {"points": shown, "name": campaign.name})
