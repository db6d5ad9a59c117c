"""What a visitor who proved their number gets: the SMS path's own code, balance or entry.

The same customer id (directory or pseudonym), identifier template, Talon.One
create-or-retrieve and local record as a text (all through `Coupons`), so texting the keyword
later returns the same code.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook, CampaignSpec, format_points, render_template
from selfserve.coupons import (
    DEFERRED_OUTCOME,
    LANDING,
    OWED_COUPON,
    OWED_REFERRAL_COUPON,
    ClaimResult,
    Coupons,
    Deferral,
    Deferred,
    Issued,
    IssuedCode,
    Touch,
    settle_answered_inline,
)
from selfserve.customers import Identity, identify, mask_phone
from selfserve.errors import TalonError, TalonRejected
from selfserve.journeys import Awards, answer_competition_text
from selfserve.landing.verification import VerifiedNumber
from selfserve.models import InboundMessage, utcnow
from selfserve.talon import TalonClient, log_talon_error

log = logging.getLogger(__name__)

# Actions with nothing to show on a page: birthday texts are sent, never claimed; a sign-up
# (subscribe) is a JOIN by text, and web visitors give consent with the offers box instead.
NOT_ON_PAGES = ("birthday", "subscribe")


@dataclass(frozen=True)
class Claim:
    """What the visitor gets once their number is proved.

    `outcome`: coupon, loyalty, entry (a competition), deferred (Talon.One down: the code
    follows by SMS; `message` says so), unavailable (Talon.One down and no queue: try again
    soon), failed (configuration error), capped (no new code: over a per-person cap today),
    or closed (the campaign ended meanwhile, or is a birthday campaign, which nobody claims
    on a page).
    """

    outcome: str
    campaign_name: str
    code: str = ""
    expires_at: datetime | None = None
    balance: str = ""
    pending: str = ""
    tier: str = ""
    points_to_next_tier: str = ""
    fresh: bool = False
    code_token: str = ""  # the code page's token: its barcode and wallet buttons
    # Competitions (outcome "entry"): what happened to the entry and the campaign's reply.
    entry: str = ""  # competition_entered | _already_entered | _not_open | _closed
    message: str = ""


@dataclass(frozen=True)
class _Result:
    """A claim's answer to the visitor, and what the message log records of it."""

    claim: Claim
    outcome: str
    reply: str | None
    deferral: Deferral | None = None


class LandingClaims:
    """Turns a proved number into the visitor's claim, logged as a web message."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        campaigns: CampaignBook,
        coupons: Coupons,
        talon: TalonClient,
        awards: Awards,
        *,
        identity_secret: str,
        default_region: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._campaigns = campaigns
        self._coupons = coupons
        self._talon = talon  # loyalty balances
        self._awards = awards
        self._secret = identity_secret
        self._region = default_region.upper()
        self._clock = clock

    def claim(self, verified: VerifiedNumber, record: bool = True) -> Claim:
        """The visitor's coupon (or balance) for a proved number, as the SMS path gives it.

        `record` writes the claim to the message log (channel "web", with the poster's src);
        showing the page again later does not. When Talon.One cannot give a coupon now and
        the queue is there, the code is owed and texted later, as on the SMS path.
        """
        campaign = self._campaigns.by_slug(verified.campaign_slug)
        if campaign is None or not campaign.active or campaign.action in NOT_ON_PAGES:
            return Claim("closed", campaign.name if campaign else "")
        with self._sessions() as db:
            who = identify(db, verified.phone_e164, self._secret)
        if campaign.action == "competition":
            return self._enter(campaign, verified, who, record)
        fields = _fields(campaign, who)
        if campaign.action == "loyalty":
            result = self._balance(campaign, who, fields)
        else:
            result = self._code(campaign, verified, who, fields)
        self._settle(campaign, verified, who, result, record)
        return result.claim

    def referred(
        self,
        campaign: CampaignSpec,
        verified: VerifiedNumber,
        who: Identity,
        identifier: str,
        claimed: ClaimResult,
        referral_code_id: int,
    ) -> Claim:
        """A friend's coupon claimed through a referral code (/r/<code>): answered, logged
        as a web claim and counted as taking part, exactly as a claim on /q/<slug> is; when
        owed, the worker creates it with the referral code (`referral_code_id`)."""
        fields = _fields(campaign, who)
        result = self._answer(
            campaign, verified, who, identifier, claimed, fields, referral_code_id
        )
        self._settle(campaign, verified, who, result, record=True)
        return result.claim

    def refused(
        self, campaign: CampaignSpec, verified: VerifiedNumber, who: Identity, outcome: str
    ) -> None:
        """A refused referral on the page (their own code, used up, already have it): a
        web row of the message log, as the same refusal by text leaves an SMS row."""
        with self._sessions.begin() as db:
            self._log(db, _web_sid(), campaign, verified, who.customer_id, outcome, None)

    def _settle(
        self,
        campaign: CampaignSpec,
        verified: VerifiedNumber,
        who: Identity,
        result: _Result,
        record: bool,
    ) -> None:
        """Write the claim to the message log (and owe its code), then count taking part."""
        owed = None
        if record:
            with self._sessions.begin() as db:
                sid = result.deferral.message_sid if result.deferral else _web_sid()
                self._log(
                    db, sid, campaign, verified, who.customer_id, result.outcome, result.reply
                )
                if result.deferral is not None:
                    owed = self._coupons.owe(db, result.deferral)
        self._coupons.hand_to_worker(owed)
        self._took_part(campaign, who, verified, result.outcome, "landing_claim")

    def _balance(self, campaign: CampaignSpec, who: Identity, fields: dict[str, Any]) -> _Result:
        assert campaign.loyalty_program_id is not None  # noqa: S101 - validated
        try:
            ledger = self._talon.loyalty(who.customer_id, campaign.loyalty_program_id)
        except TalonError as error:
            return self._trouble(campaign, error)
        result = Claim(
            "loyalty",
            campaign.name,
            balance=format_points(ledger.balance),
            pending=format_points(ledger.pending),
            tier=ledger.tier,
            points_to_next_tier=format_points(ledger.points_to_next_tier or 0),
        )
        fields.update(
            balance=result.balance,
            pending=result.pending,
            tier=result.tier,
            points_to_next_tier=result.points_to_next_tier,
        )
        return _Result(result, "loyalty_balance", render_template(campaign.reply, fields))

    def _code(
        self,
        campaign: CampaignSpec,
        verified: VerifiedNumber,
        who: Identity,
        fields: dict[str, Any],
    ) -> _Result:
        identifier = self._coupons.identifier_for(campaign, who.customer_id, fields["keyword"])
        claimed = self._coupons.claim(
            campaign,
            who.customer_id,
            identifier,
            may_owe=self._coupons.can_owe and campaign.action == "coupon",
            touch=Touch(LANDING, source=verified.source or ""),
        )
        return self._answer(campaign, verified, who, identifier, claimed, fields)

    def _answer(
        self,
        campaign: CampaignSpec,
        verified: VerifiedNumber,
        who: Identity,
        identifier: str,
        claimed: ClaimResult,
        fields: dict[str, Any],
        referral_code_id: int | None = None,
    ) -> _Result:
        """What the visitor sees of a claim's result, and what the message log records."""
        fields["code_url"] = self._coupons.code_pages.url_for(campaign.slug, identifier)
        if isinstance(claimed, Issued):
            return self._issued(campaign, identifier, claimed.code, fields)
        if isinstance(claimed, Deferred):
            reply = render_template(campaign.deferred_reply, fields)
            deferral = Deferral(
                message_sid=_web_sid(),
                campaign_slug=campaign.slug,
                identifier=identifier,
                customer_id=who.customer_id,
                phone_e164=verified.phone_e164,
                keyword=fields["keyword"],
                first_name=who.first_name,
                reason=claimed.reason,
                kind=OWED_COUPON if referral_code_id is None else OWED_REFERRAL_COUPON,
                referral_code_id=referral_code_id,
            )
            return _Result(
                Claim("deferred", campaign.name, message=reply),
                DEFERRED_OUTCOME,
                reply,
                None if claimed.owed_already else deferral,  # owed already: the worker has it
            )
        if claimed.outcome in ("failed", "capped"):  # capped: over a per-person cap today
            return _Result(Claim(claimed.outcome, campaign.name), claimed.outcome, None)
        return _Result(Claim("unavailable", campaign.name), "talon_unavailable", None)

    def _issued(
        self, campaign: CampaignSpec, identifier: str, issued: IssuedCode, fields: dict[str, Any]
    ) -> _Result:
        """The visitor's code, on the page (with its code page's barcode and wallets)."""
        with self._sessions.begin() as db:
            # The visitor has the code now: one owed by SMS must not follow it.
            settle_answered_inline(db, campaign.slug, identifier, self._clock())
        fields.update(code=issued.code, expiry=issued.expires_at, starts=issued.starts_at)
        return _Result(
            Claim(
                "coupon",
                campaign.name,
                code=issued.code,
                expires_at=issued.expires_at,
                fresh=issued.fresh,
                code_token=self._coupons.code_pages.token_for(campaign.slug, identifier),
            ),
            "code_issued" if issued.fresh else "code_resent",
            render_template(campaign.reply, fields),
        )

    @staticmethod
    def _trouble(campaign: CampaignSpec, error: TalonError) -> _Result:
        log_talon_error(campaign.slug, error)
        if isinstance(error, TalonRejected):
            return _Result(Claim("failed", campaign.name), "failed", None)
        return _Result(Claim("unavailable", campaign.name), "talon_unavailable", None)

    def _enter(
        self, campaign: CampaignSpec, verified: VerifiedNumber, who: Identity, record: bool
    ) -> Claim:
        """A competition from the page: the same entry (one per customer) as texting the word."""
        with self._sessions.begin() as db:
            answer = answer_competition_text(
                db,
                campaign,
                verified.phone_e164,
                who.customer_id,
                self._clock(),
                self._region,
                channel="web",
            )
        fields: dict[str, Any] = {
            "name": campaign.name,
            "first_name": who.first_name,
            "keyword": campaign.keywords[0] if campaign.keywords else "",
            **answer.fields,
        }
        code = ""
        if answer.needs_code:
            identifier = self._coupons.identifier_for(campaign, who.customer_id, fields["keyword"])
            try:
                issued = self._coupons.issue(
                    campaign,
                    who.customer_id,
                    identifier,
                    touch=Touch(LANDING, source=verified.source or ""),
                )
            except TalonError as error:
                log_talon_error(campaign.slug, error)
                return Claim("unavailable", campaign.name, entry=answer.outcome)
            code = issued.code
            fields.update(code=issued.code, expiry=issued.expires_at, starts=issued.starts_at)
        message = render_template(answer.template, fields)
        if record:
            with self._sessions.begin() as db:
                self._log(
                    db, _web_sid(), campaign, verified, who.customer_id, answer.outcome, message
                )
        self._took_part(campaign, who, verified, answer.outcome, "landing_entry")
        return Claim("entry", campaign.name, code=code, entry=answer.outcome, message=message)

    def _took_part(
        self,
        campaign: CampaignSpec,
        who: Identity,
        verified: VerifiedNumber,
        outcome: str,
        event: str,
    ) -> None:
        """Taking part on the page earns the campaign's award_points as a text does: once per
        customer and campaign, also when the page is only shown again (an award already made
        or under way queues nothing)."""
        self._awards.took_part(outcome, campaign.slug, who.customer_id)
        log.info(
            event,
            extra={
                "campaign": campaign.slug,
                "customer_id": who.customer_id,
                "outcome": outcome,
                "src": verified.source,
            },
        )

    def _log(
        self,
        db: Session,
        message_sid: str,
        campaign: CampaignSpec,
        verified: VerifiedNumber,
        customer_id: str,
        outcome: str,
        reply: str | None,
    ) -> None:
        db.add(
            InboundMessage(
                message_sid=message_sid,
                received_at=self._clock(),
                channel="web",
                phone_masked=mask_phone(verified.phone_e164),
                customer_id=customer_id,
                keyword=campaign.keywords[0] if campaign.keywords else None,
                campaign_slug=campaign.slug,
                source=verified.source,
                state="done",
                outcome=outcome,
                reply=reply,
            )
        )


def _fields(campaign: CampaignSpec, who: Identity) -> dict[str, Any]:
    """The placeholders every reply of a campaign may use."""
    return {
        "name": campaign.name,
        "first_name": who.first_name,
        "keyword": campaign.keywords[0] if campaign.keywords else "",
    }


def _web_sid() -> str:
    return "web-" + secrets.token_hex(16)
