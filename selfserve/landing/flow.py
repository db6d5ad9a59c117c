"""The QR landing journey: a scan is counted, the visitor proves their number, the code shows.

A poster's QR opens `/q/<slug>?src=<location>`. The visitor types their number; we text a
one-time code (selfserve.landing.verification) and, once they type it back, show the very code the
SMS path would give them: the same customer id (directory or pseudonym), the same identifier
template, the same Talon.One create-or-retrieve and the same local record, so texting the
keyword later returns the same code. No request object reaches this module.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import phonenumbers
import qrcode
import qrcode.image.svg
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns.book import CampaignBook, CampaignSpec, render_template
from selfserve.coupons.deferrals import (
    DEFERRED_OUTCOME,
    Deferral,
    record_deferral,
    settle_answered_inline,
)
from selfserve.customers.consent import ConsentWording, record_web_consent, web_consent_wording
from selfserve.customers.identity import Identity, identify
from selfserve.customers.phones import mask_phone, national_format, region_of, to_e164
from selfserve.errors import (
    CampaignClosed,
    InvalidPhoneNumber,
    NumberOptedOut,
    RegionNotAllowed,
    SmsError,
    TalonError,
    TalonRejected,
    UnknownCampaign,
    VerificationError,
    VerificationMissing,
)
from selfserve.journeys.competitions import answer_competition_text
from selfserve.journeys.loyalty import TakingPart, award_for_taking_part
from selfserve.landing.verification import (
    Challenge,
    OneTimeCodes,
    SendThrottle,
    VerifiedNumber,
)
from selfserve.models import InboundMessage, LandingVisit, OutboundMessage, utcnow
from selfserve.sms.outbox import FAILED, SKIPPED, Outbox
from selfserve.sms.senders import is_opted_out
from selfserve.talon.client import TalonClient
from selfserve.texts.answerer import TextAnswerer

log = logging.getLogger(__name__)

# Numbers that cannot, or must not, receive our texts. Premium-rate and shared-cost numbers
# are what SMS-pumping fraud sends to; a landline or pager cannot read the code anyway.
NOT_TEXTABLE = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.UAN,
        phonenumbers.PhoneNumberType.VOICEMAIL,
        phonenumbers.PhoneNumberType.PAGER,
    }
)
# Twilio answers that mean "this number cannot take a text", whatever phonenumbers thought.
UNTEXTABLE_TWILIO_CODES = frozenset({21211, 21614})
COUNTRY_NOT_ENABLED = 21408
VERIFIED_PAGE_LIFETIME_SECONDS = 60 * 60

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_BRAND = "#14532d"
DEFAULT_ACCENT = "#b45309"
WHITE = "#ffffff"
INK = "#111111"

# Actions with nothing to show on a page: birthday texts are sent, never claimed; a sign-up
# (subscribe) is a JOIN by text, and web visitors give consent with the offers box instead.
NOT_ON_PAGES = ("birthday", "subscribe")


@dataclass(frozen=True)
class Palette:
    """Brand colours with text colours that keep WCAG AA contrast (4.5:1) on them."""

    brand: str
    on_brand: str
    accent: str
    on_accent: str
    accent_ink: str  # the accent, darkened if needed, for links and outlines on white


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


@dataclass(frozen=True)
class CodeSent:
    """A code is on its way: the session keeps `token`, the page shows the masked number."""

    token: str
    masked_phone: str
    expires_at: datetime


@dataclass(frozen=True)
class Claim:
    """What the visitor gets once their number is proved.

    `outcome`: coupon, loyalty, entry (a competition), deferred (Talon.One down: the code
    follows by SMS; `message` says so), unavailable (Talon.One down and no queue: try again
    soon), failed (configuration error), or closed (the campaign ended meanwhile, or is a
    birthday campaign, which nobody claims on a page).
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
    # Competitions (outcome "entry"): what happened to the entry and the campaign's reply.
    entry: str = ""  # competition_entered | _already_entered | _not_open | _closed
    message: str = ""


class LandingJourney:
    """Everything the landing pages ask of the domain; handlers call one method per request."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        campaigns: CampaignBook,
        texts: TextAnswerer,
        talon: TalonClient,
        outbox: Outbox,
        codes: OneTimeCodes,
        throttle: SendThrottle,
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
        self._texts = texts
        self._talon = talon
        self._outbox = outbox
        # With a queue, a coupon Talon.One cannot give now is owed and texted later
        # (on_deferred(row id, attempt) enqueues the job); without one, "try again soon".
        self._on_deferred: Callable[[int, int], None] | None = None
        # With a queue, a campaign's award_points go to the worker (on_award(slug, customer)).
        self._on_award: Callable[[str, str], None] | None = None
        self.codes = codes
        self._throttle = throttle
        self._secret = identity_secret
        self._region = default_region.upper()
        self.allowed_regions = allowed_regions
        self._fallback_number = fallback_sms_number
        self._public_base_url = public_base_url
        # Shown beside the number form's offers checkbox and stored when a tick is confirmed.
        self.consent_wording: ConsentWording = web_consent_wording(program_name)
        self._clock = clock

    def connect_queue(self, on_deferred: Callable[[int, int], None]) -> None:
        """Owe coupons Talon.One cannot give now; on_deferred(id, attempt) enqueues the job."""
        self._on_deferred = on_deferred

    def connect_awards(self, on_award: Callable[[str, str], None]) -> None:
        """Give award_points from the worker: on_award(campaign_slug, customer_id) enqueues."""
        self._on_award = on_award

    def close(self) -> None:
        """Release the throttle's connections."""
        self._throttle.close()

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
            dialect = db.get_bind().dialect.name
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
    ) -> CodeSent:
        """Text a one-time code to the number the visitor typed.

        `wants_offers`: the visitor ticked "Send me offers by SMS"; kept with the code and
        recorded as consent only once the code is confirmed.
        Raises InvalidPhoneNumber, RegionNotAllowed, NumberOptedOut, TooManyCodeRequests,
        CampaignClosed/UnknownCampaign, or SmsError when the text could not be sent.
        """
        campaign = self.campaign(slug)
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
            if is_opted_out(db, phone):
                raise NumberOptedOut()
        self._throttle.spend(phone, client_address)
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
        text = f"Your {campaign.name} code is {code}. It expires in 10 minutes."
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
        """The visitor's coupon (or balance) for a proved number, as the SMS path gives it.

        `record` writes the claim to the message log (channel "web", with the poster's src);
        showing the page again later does not. When Talon.One cannot give a coupon now and
        the queue is connected, the code is owed and texted later, as on the SMS path.
        """
        campaign = self._campaigns.by_slug(verified.campaign_slug)
        if campaign is None or not campaign.active or campaign.action in NOT_ON_PAGES:
            return Claim("closed", campaign.name if campaign else "")
        with self._sessions() as db:
            who = identify(db, verified.phone_e164, self._secret)
        if campaign.action == "competition":
            return self._enter(campaign, verified, who, record)
        keyword = campaign.keywords[0] if campaign.keywords else ""
        fields: dict[str, Any] = {"name": campaign.name, "first_name": who.first_name}
        fields["keyword"] = keyword
        # The SMS path's own rules: identifier from the template, local record first.
        identifier = self._texts.identifier_for(campaign, who.customer_id, keyword)
        deferral: Deferral | None = None
        try:
            if campaign.action == "loyalty":
                assert campaign.loyalty_program_id is not None  # noqa: S101 - validated
                ledger = self._talon.loyalty(who.customer_id, campaign.loyalty_program_id)
                result = Claim(
                    "loyalty",
                    campaign.name,
                    balance=_points(ledger.balance),
                    pending=_points(ledger.pending),
                    tier=ledger.tier,
                    points_to_next_tier=_points(ledger.points_to_next_tier or 0),
                )
                fields.update(
                    balance=result.balance,
                    pending=result.pending,
                    tier=result.tier,
                    points_to_next_tier=result.points_to_next_tier,
                )
                outcome = "loyalty_balance"
            else:
                issued = self._texts.issue_code(campaign, who.customer_id, identifier)
                result = Claim(
                    "coupon",
                    campaign.name,
                    code=issued.code,
                    expires_at=issued.expires_at,
                    fresh=issued.fresh,
                )
                fields.update(code=issued.code, expiry=issued.expires_at, starts=issued.starts_at)
                outcome = "code_issued" if issued.fresh else "code_resent"
                with self._sessions.begin() as db:
                    # The visitor has the code now: one owed by SMS must not follow it.
                    settle_answered_inline(db, campaign.slug, identifier, self._clock())
            reply: str | None = render_template(campaign.reply, fields)
        except TalonRejected as error:
            log.error(
                "talon_rejected",
                extra={
                    "campaign": campaign.slug,
                    "status": error.status,
                    "error": error.error,
                    "request_uuid": error.request_uuid,
                },
            )
            result, outcome, reply = Claim("failed", campaign.name), "failed", None
        except TalonError as error:
            log.warning(
                "talon_unavailable", extra={"campaign": campaign.slug, "reason": str(error)}
            )
            if campaign.action == "coupon" and self._on_deferred is not None:
                reply = render_template(campaign.deferred_reply, fields)
                result = Claim("deferred", campaign.name, message=reply)
                outcome = DEFERRED_OUTCOME
                deferral = Deferral(
                    message_sid="web-" + secrets.token_hex(16),
                    campaign_slug=campaign.slug,
                    identifier=identifier,
                    customer_id=who.customer_id,
                    phone_e164=verified.phone_e164,
                    keyword=keyword,
                    first_name=who.first_name,
                    reason=str(error),
                )
            else:
                result, outcome, reply = (
                    Claim("unavailable", campaign.name),
                    "talon_unavailable",
                    None,
                )
        owed: tuple[int, int] | None = None
        if record:
            with self._sessions.begin() as db:
                message_sid = deferral.message_sid if deferral else "web-" + secrets.token_hex(16)
                self._log_claim(
                    db, message_sid, campaign, verified, who.customer_id, outcome, reply
                )
                if deferral is not None:
                    owed = record_deferral(db, deferral, self._clock())
        if owed is not None and self._on_deferred is not None:
            try:
                self._on_deferred(*owed)
            except Exception:  # the row is committed: the worker's sweeper will find it
                log.exception("deferred_enqueue_failed", extra={"campaign": campaign.slug})
        self._award_points(campaign.slug, who.customer_id, outcome)
        log.info(
            "landing_claim",
            extra={
                "campaign": campaign.slug,
                "customer_id": who.customer_id,
                "outcome": outcome,
                "src": verified.source,
            },
        )
        return result

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
        outcome, template = answer.outcome, answer.template
        if answer.needs_code:
            identifier = self._texts.identifier_for(campaign, who.customer_id, fields["keyword"])
            try:
                issued = self._texts.issue_code(campaign, who.customer_id, identifier)
            except TalonError as error:
                log.warning(
                    "talon_unavailable", extra={"campaign": campaign.slug, "reason": str(error)}
                )
                return Claim("unavailable", campaign.name, entry=answer.outcome)
            code = issued.code
            fields.update(code=issued.code, expiry=issued.expires_at, starts=issued.starts_at)
        message = render_template(template, fields)
        if record:
            with self._sessions.begin() as db:
                self._log_claim(
                    db,
                    "web-" + secrets.token_hex(16),
                    campaign,
                    verified,
                    who.customer_id,
                    outcome,
                    message,
                )
        self._award_points(campaign.slug, who.customer_id, outcome)
        log.info(
            "landing_entry",
            extra={
                "campaign": campaign.slug,
                "customer_id": who.customer_id,
                "outcome": outcome,
                "src": verified.source,
            },
        )
        return Claim("entry", campaign.name, code=code, entry=outcome, message=message)

    def _award_points(self, campaign_slug: str, customer_id: str, outcome: str) -> None:
        """Taking part on the page earns the campaign's award_points as a text does: once per
        customer and campaign (the award's own row), from the worker when one is connected.

        Also when the page is only shown again: a visitor whose code was owed and who now
        sees it has taken part, and an award already made or under way queues nothing.
        """
        try:
            award_for_taking_part(
                self._sessions,
                self._talon,
                self._campaigns,
                TakingPart(outcome, campaign_slug, customer_id),
                enqueue=self._on_award,
            )
        except Exception:  # the visitor has their code; the next time they take part retries
            log.exception(
                "award_enqueue_failed",
                extra={"campaign": campaign_slug, "customer_id": customer_id},
            )

    def _log_claim(
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


def check_textable(phone_e164: str) -> None:
    """Raise InvalidPhoneNumber for numbers that cannot or must not get a text (premium…)."""
    number_type = phonenumbers.number_type(phonenumbers.parse(phone_e164, None))
    if number_type in NOT_TEXTABLE:
        raise InvalidPhoneNumber("not a mobile number")


def sms_uri(phone_e164: str, body: str, ios: bool) -> str:
    """An `sms:` link with the body pre-filled: iOS wants `&body=`, RFC 5724 `?body=`."""
    return f"sms:{phone_e164}{'&' if ios else '?'}body={quote(body, safe='')}"


def code_qr_svg(code: str) -> str:
    """An inline SVG QR code of a coupon code, for the till's scanner (white quiet zone)."""
    image = qrcode.make(
        code,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
    )
    svg = image.to_string(encoding="unicode")
    # Sized by the page's CSS instead of in millimetres, and named for screen readers.
    opening = re.match(r"<svg\b[^>]*>", svg)
    assert opening is not None  # noqa: S101 - qrcode always writes one <svg> element
    attributes = re.sub(r'\s(width|height)="[^"]*"', "", opening.group(0)[len("<svg") : -1])
    label = html.escape(f"QR code of your code {code}", quote=True)
    return (
        f'<svg{attributes} role="img" aria-label="{label}" class="qr" '
        f'shape-rendering="crispEdges">' + svg[opening.end() :]
    )


def safe_logo_url(url: str) -> str:
    """An https/http URL or a site path; anything else (javascript:, data:) is dropped."""
    url = url.strip()
    if re.match(r"^https?://[^\s\"'<>]+$", url) or re.match(r"^/[^/\\\s\"'<>][^\s\"'<>]*$", url):
        return url
    return ""


def palette_for(brand: str, accent: str) -> Palette:
    """The page's colours from the campaign's; text colours chosen for contrast."""
    brand = brand if _HEX.match(brand or "") else DEFAULT_BRAND
    accent = (
        accent
        if _HEX.match(accent or "")
        else (brand if brand != DEFAULT_BRAND else DEFAULT_ACCENT)
    )
    return Palette(
        brand=brand.lower(),
        on_brand=readable_on(brand),
        accent=accent.lower(),
        on_accent=readable_on(accent),
        accent_ink=(
            accent.lower()
            if contrast_ratio(accent, WHITE) >= 4.5
            else brand.lower()
            if contrast_ratio(brand, WHITE) >= 4.5
            else darken_until_readable(accent, WHITE)
        ),
    )


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_on(background: str) -> str:
    """White or near-black, whichever reads better on `background`."""
    return WHITE if contrast_ratio(WHITE, background) >= contrast_ratio(INK, background) else INK


def darken_until_readable(colour: str, background: str, ratio: float = 4.5) -> str:
    """`colour`, mixed with black step by step until it reaches `ratio` on `background`."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(11):
        keep = 1 - step / 10
        mixed = f"#{round(red * keep):02x}{round(green * keep):02x}{round(blue * keep):02x}"
        if contrast_ratio(mixed, background) >= ratio:
            return mixed
    return INK


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def _points(value: float) -> str:
    return f"{value:g}" if value != int(value) else f"{int(value)}"
