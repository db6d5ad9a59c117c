"""The QR landing flow: a scan is counted, the visitor proves their number, the code shows.

A poster's QR opens `/q/<slug>?src=<location>`. The visitor types their number; we text a
one-time code (selfserve.landing.verification) and, once they type it back, show the very code the
SMS path would give them: the same customer id (directory or pseudonym), the same identifier
template, the same Talon.One create-or-retrieve and the same local record, so texting the
keyword later returns the same code. No request object reaches this module.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook, CampaignSpec
from selfserve.customers import (
    ConsentWording,
    is_opted_out,
    mask_phone,
    national_format,
    record_web_consent,
    region_of,
    to_e164,
    web_consent_wording,
)
from selfserve.errors import (
    CampaignClosed,
    InvalidPhoneNumber,
    NumberOptedOut,
    RegionNotAllowed,
    SmsError,
    UnknownCampaign,
    VerificationError,
    VerificationMissing,
)
from selfserve.landing.claims import NOT_ON_PAGES, Claim, LandingClaims
from selfserve.landing.guards import LandingGuards, check_textable, fresh_scan_seconds
from selfserve.landing.look import Palette, palette_for, safe_logo_url
from selfserve.landing.verification import (
    Challenge,
    OneTimeCodes,
    RangeJustBlocked,
    SendThrottle,
    VerifiedNumber,
)
from selfserve.landing.words import PageWords
from selfserve.models import LandingVisit, OutboundMessage, utcnow
from selfserve.sms import (
    FAILED,
    SKIPPED,
    Outbox,
)

log = logging.getLogger(__name__)

# Twilio answers that mean "this number cannot take a text", whatever phonenumbers thought.
UNTEXTABLE_TWILIO_CODES = frozenset({21211, 21614})
COUNTRY_NOT_ENABLED = 21408
VERIFIED_PAGE_LIFETIME_SECONDS = 60 * 60


@dataclass(frozen=True)
class LandingPage:
    """What a campaign's landing page shows."""

    slug: str
    name: str
    action: str
    offer: str
    keyword: str
    sms_number: str  # E.164, or "" when the campaign has no number to text
    sms_number_display: str
    logo_url: str
    terms_url: str
    palette: Palette
    fresh_scan_seconds: int = 0  # set: reached only through a screen's rotating QR
    language: str = "en"  # its own words: campaign `language`, else the default


@dataclass(frozen=True)
class CodeSent:
    """A code is on its way: the session keeps `token`, the page shows the masked number."""

    token: str
    masked_phone: str
    expires_at: datetime


class LandingFlow:
    """Everything the landing pages ask of the domain; handlers call one method per request."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        campaigns: CampaignBook,
        claims: LandingClaims,
        outbox: Outbox,
        codes: OneTimeCodes,
        throttle: SendThrottle,
        guards: LandingGuards,
        words: PageWords,
        *,
        identity_secret: str,
        default_region: str,
        allowed_regions: frozenset[str],
        fallback_sms_number: str,
        public_base_url: str,
        program_name: str = "selfserve",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._campaigns = campaigns
        self._claims = claims
        self._outbox = outbox
        self.codes = codes
        self._throttle = throttle
        self.words = words  # the pages' own words and the code text, by language
        self.guards = guards  # bot challenge, screen tokens, refusal counts (handlers ask)
        self._secret = identity_secret
        self._region = default_region.upper()
        self.allowed_regions = allowed_regions
        self._fallback_number = fallback_sms_number
        self._public_base_url = public_base_url
        # Shown beside the number form's offers checkbox and stored when a tick is confirmed.
        self.consent_wording: ConsentWording = web_consent_wording(program_name)
        self._clock = clock

    def close(self) -> None:
        """Release the throttle's and the challenge's connections."""
        self._throttle.close()
        self.guards.close()

    # -- the page ---------------------------------------------------------------------------

    def campaign(self, slug: str) -> CampaignSpec:
        """The active campaign behind a landing URL; raises UnknownCampaign or CampaignClosed."""
        campaign = self._campaigns.by_slug(slug)
        if campaign is None or campaign.action in NOT_ON_PAGES:
            raise UnknownCampaign(slug[:64])
        if not campaign.active:
            raise CampaignClosed(slug)
        return campaign

    def page(self, slug: str) -> LandingPage:
        """What the landing page of an active campaign shows."""
        campaign = self.campaign(slug)
        number = self.sms_number_for(campaign)
        return LandingPage(
            slug=campaign.slug,
            name=campaign.name,
            action=campaign.action,
            offer=str(campaign.option("offer", "") or ""),
            keyword=campaign.keywords[0] if campaign.keywords else "",
            sms_number=number if campaign.keywords else "",
            sms_number_display=self.display_number(number) if number else "",
            logo_url=safe_logo_url(str(campaign.option("logo_url", "") or "")),
            terms_url=safe_logo_url(str(campaign.option("terms_url", "") or "")),
            palette=palette_for(
                str(campaign.option("brand_colour", "") or ""),
                str(campaign.option("accent_colour", "") or ""),
            ),
            fresh_scan_seconds=fresh_scan_seconds(campaign),
            language=self.words.language_of(campaign),
        )

    def sms_number_for(self, campaign: CampaignSpec) -> str:
        """The number to text: the campaign's own, else TWILIO_FROM_NUMBER; "" when neither."""
        for candidate in (str(campaign.option("sms_number", "") or ""), self._fallback_number):
            if not candidate:
                continue
            try:
                return to_e164(candidate, self._region)
            except InvalidPhoneNumber:
                log.warning("landing_bad_sms_number", extra={"campaign": campaign.slug})
        return ""

    def display_number(self, phone_e164: str) -> str:
        """National format (`0480 000 000`) for local numbers, international otherwise."""
        if region_of(phone_e164) == self._region:
            return national_format(phone_e164)
        parsed = phonenumbers.parse(phone_e164, None)
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def record_visit(self, slug: str, source: str | None) -> None:
        """Count one opening of a campaign's landing page, per poster location and day."""
        values = {
            "campaign_slug": slug,
            "source": source or "",
            "day": self._clock().date(),
            "visits": 1,
        }
        with self._sessions.begin() as db:
            dialect = db.bind.dialect.name
            table = LandingVisit.__table__
            builder: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = builder(table).values(**values)
            db.execute(
                statement.on_conflict_do_update(
                    index_elements=["campaign_slug", "source", "day"],
                    set_={"visits": table.c.visits + 1},
                )
            )

    # -- proving the number -----------------------------------------------------------------

    def request_code(
        self,
        slug: str,
        typed_phone: str,
        source: str | None,
        client_address: str,
        wants_offers: bool = False,
        challenge_solution: str = "",
    ) -> CodeSent:
        """Text a one-time code to the number the visitor typed.

        `challenge_solution`: the form's bot-challenge payload; ChallengeFailed (nothing sent)
        when the challenge is on and this is not a fresh valid solution.

        `wants_offers`: the visitor ticked "Send me offers by SMS"; kept with the code and
        recorded as consent only once the code is confirmed.
        Raises InvalidPhoneNumber, RegionNotAllowed, NumberOptedOut, TooManyCodeRequests,
        CampaignClosed/UnknownCampaign, or SmsError when the text could not be sent.
        """
        campaign = self.campaign(slug)
        self.guards.check_challenge(campaign.slug, challenge_solution)
        phone = to_e164(typed_phone, self._region)
        return self._send_code(campaign, phone, source, client_address, wants_offers)

    def resend_code(self, slug: str, token: str, client_address: str) -> CodeSent:
        """Text a new code to the number an earlier code went to (the visitor need not retype)."""
        campaign = self.campaign(slug)
        with self._sessions() as db:
            earlier = self.codes.sent_to(db, token)
        if earlier is None or earlier.campaign_slug != campaign.slug:
            raise VerificationMissing()
        return self._send_code(
            campaign, earlier.phone_e164, earlier.source, client_address, earlier.wants_offers
        )

    def verify(self, slug: str, token: str, typed_code: str) -> VerifiedNumber:
        """Check a typed code; raises VerificationFailed/Expired/Locked/Missing.

        The right code for a visitor who ticked the offers box records their marketing
        consent (method `web`) in the same transaction that marks the number verified.
        """
        campaign = self.campaign(slug)
        refused: VerificationError | None = None
        consented = False
        with self._sessions.begin() as db:
            try:
                verified = self.codes.check(db, token, typed_code)
            except VerificationError as error:
                # Commit the counted guess (and a lock) before answering: a rollback here
                # would hand out unlimited guesses.
                refused = error
            else:
                if verified.campaign_slug != campaign.slug:
                    # Another campaign's code: leaving the block rolls back its verification
                    # (and records no consent); it still works on its own campaign's page.
                    raise VerificationMissing()
                if verified.wants_offers:
                    consented = record_web_consent(
                        db,
                        verified.phone_e164,
                        self.consent_wording.full,
                        campaign_slug=verified.campaign_slug,
                        source=verified.source,
                        at=self._clock(),
                    )
        if refused is not None:
            log.info(
                "otp_refused", extra={"campaign": campaign.slug, "reason": type(refused).__name__}
            )
            raise refused
        log.info(
            "landing_number_verified",
            extra={"campaign": campaign.slug, "phone": mask_phone(verified.phone_e164)},
        )
        if consented:
            log.info(
                "consent_recorded",
                extra={
                    "campaign": verified.campaign_slug,
                    "phone": mask_phone(verified.phone_e164),
                    "method": "web",
                    "src": verified.source,
                },
            )
        return verified

    def verified(self, slug: str, token: str) -> VerifiedNumber | None:
        """The number this token proved for this campaign within the last hour, if any."""
        with self._sessions() as db:
            verified = self.codes.verified(
                db, token, within=timedelta(seconds=VERIFIED_PAGE_LIFETIME_SECONDS)
            )
        if verified is None or verified.campaign_slug != slug:
            return None
        return verified

    def _send_code(
        self,
        campaign: CampaignSpec,
        phone: str,
        source: str | None,
        client_address: str,
        wants_offers: bool,
    ) -> CodeSent:
        check_textable(phone)
        region = region_of(phone)
        if region not in self.allowed_regions:
            log.info(
                "otp_region_refused",
                extra={"campaign": campaign.slug, "region": region, "phone": mask_phone(phone)},
            )
            raise RegionNotAllowed(region)
        with self._sessions() as db:
            if is_opted_out(db, phone, self._secret):  # an erased person stays opted out
                raise NumberOptedOut()
        try:
            self._throttle.spend(phone, client_address)
        except RangeJustBlocked:
            self.guards.range_blocked(campaign.slug, phone)
            raise
        with self._sessions.begin() as db:
            challenge = self.codes.start(db, campaign.slug, phone, source, wants_offers)
        self.deliver_code(campaign, phone, challenge)
        log.info(
            "otp_sent",
            extra={"campaign": campaign.slug, "phone": mask_phone(phone), "src": source},
        )
        return CodeSent(challenge.token, mask_phone(phone), challenge.expires_at)

    def code_text(self, campaign: CampaignSpec, code: str) -> str:
        """The one-time code SMS; its last line lets Chrome on Android fill the code in."""
        text = self.words.code_text(campaign, code)
        host = re.match(r"https://([^/:]+)", self._public_base_url)
        if host:  # the WebOTP format; browsers only honour it for https origins
            text += f"\n\n@{host.group(1)} #{code}"
        return text

    def deliver_code(self, campaign: CampaignSpec, phone: str, challenge: Challenge) -> None:
        """Send the code through the outbox, first attempt now (the visitor is waiting).

        One outbox key per code, so nothing sends it twice; a transient Twilio failure is
        retried by the worker. Raises NumberOptedOut (opted out, or Twilio 21610),
        InvalidPhoneNumber (Twilio cannot text it), RegionNotAllowed (country not enabled at
        Twilio) or SmsError (any other permanent refusal).
        """
        recorded = self._outbox.send(
            dedupe_key=f"one-time-code:{challenge.token}",
            to_e164=phone,
            body=self.code_text(campaign, challenge.code),
            purpose="one_time_code",
            campaign_slug=campaign.slug,
            now=True,
        )
        with self._sessions.begin() as db:
            row = db.execute(
                select(
                    OutboundMessage.status,
                    OutboundMessage.error_code,
                    OutboundMessage.provider,
                    OutboundMessage.message_sid,
                ).where(OutboundMessage.id == recorded.outbound_id)
            ).one()
            if row.message_sid and row.provider != "sandbox":
                # Sent: only the sandbox outbox must show the code (it is the customer's
                # phone there); elsewhere the log keeps no usable code, as the hash table.
                db.execute(
                    update(OutboundMessage)
                    .where(OutboundMessage.id == recorded.outbound_id)
                    .values(body=self.code_text(campaign, "••••••"))
                )
        if row.status == SKIPPED or row.error_code == 21610:
            raise NumberOptedOut()
        if row.status != FAILED:
            return  # sent, or waiting for the worker's retry: the code is on its way
        if row.error_code in UNTEXTABLE_TWILIO_CODES:
            raise InvalidPhoneNumber("cannot receive SMS")
        if row.error_code == COUNTRY_NOT_ENABLED:
            raise RegionNotAllowed(region_of(phone))
        log.warning("otp_send_failed", extra={"campaign": campaign.slug, "code": row.error_code})
        raise SmsError("the one-time code was refused", row.error_code, permanent=True)

    # -- the result -------------------------------------------------------------------------

    def claim(self, verified: VerifiedNumber, record: bool = True) -> Claim:
        """The visitor's coupon (or balance, or entry) for a proved number (see LandingClaims)."""
        return self._claims.claim(verified, record)
