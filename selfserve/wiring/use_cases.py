"""The use cases, each built from the core with everything it needs: texts, landing pages,
code pages, referrals, and the Coupons of each path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from selfserve.coupons import CodeCaps, CodePages, Coupons, ReferralCodes, WarmUps
from selfserve.journeys import Awards, Referrals
from selfserve.landing import (
    ApplePasses,
    BotChallenge,
    CodePageFlow,
    GoogleWallet,
    LandingClaims,
    LandingFlow,
    LandingGuards,
    OneTimeCodes,
    PageWords,
    RangeLimit,
    ReferralPages,
    ScreenTokens,
    SendThrottle,
)
from selfserve.ops import Catalogues, QuietHours
from selfserve.sms import ComplianceWords, Outbox
from selfserve.talon import TalonClient
from selfserve.texts import (
    DataRights,
    KeywordMatcher,
    ReturningCustomers,
    Router,
    TextAnswerer,
    Wording,
)
from selfserve.wiring.core import Core


@dataclass(frozen=True)
class CouponPaths:
    """One Coupons per path, each with its Talon.One client and its own failure pause."""

    webhook: Coupons  # short timeout, owes codes, pauses after a failure
    pages: Coupons  # short timeout, owes codes, never pauses (a visitor is waiting anyway)
    worker: Coupons  # the full timeout; owes nothing (it is the one paying debts)
    warm_ups: WarmUps  # the worker's Coupons, ahead of the customers' asks


def build_coupon_paths(core: Core, enqueue_owed: Callable[[int, int], None]) -> CouponPaths:
    """The Coupons of each path; texts and pages cap new codes per person per day (code
    farming), while the worker pays codes already promised and birthdays are one a year."""
    settings = core.settings
    code_pages = CodePages(settings.secret_key, settings.public_base_url)
    caps = CodeCaps(per_number_per_day=settings.max_new_codes_per_number_per_day)
    worker = Coupons(core.sessions, core.talon, code_pages=code_pages)
    return CouponPaths(
        webhook=Coupons(
            core.sessions,
            core.inline_talon,
            code_pages=code_pages,
            enqueue_owed=enqueue_owed,
            pause_after_failure_seconds=settings.talon_inline_pause_seconds,
            caps=caps,
        ),
        pages=Coupons(
            core.sessions,
            core.inline_talon,
            code_pages=code_pages,
            enqueue_owed=enqueue_owed,
            caps=caps,
        ),
        worker=worker,
        warm_ups=WarmUps(  # directory customers' codes ahead, with a share of the budget
            core.sessions,
            core.writes,
            core.campaigns,
            worker,
            core.budget,
            limit_per_window=settings.talon_rate_limit_per_minute,
            default_region=settings.default_region,
            dry_run=settings.talon_dry_run,
        ),
    )


def build_texts(
    core: Core,
    coupons: Coupons,
    awards: Awards,
    returning: ReturningCustomers,
    compliance: ComplianceWords,
    outbox: Outbox,
) -> TextAnswerer:
    """The SMS webhook's use case: it waits briefly for Talon.One, then owes the code."""
    settings = core.settings
    wording = Wording(
        core.campaigns,
        coupons.code_pages,
        Catalogues(),
        languages=settings.languages,
        program_name=settings.program_name,
        help_text=settings.effective_help_text,
    )
    referrals = build_referrals(core, coupons, outbox)
    data_rights = DataRights(
        core.campaigns,
        wording,
        identity_secret=settings.identity_secret,
        brand=settings.program_name,
    )
    router = Router(
        core.campaigns,
        coupons,
        wording,
        referrals,
        data_rights,
        identity_secret=settings.identity_secret,
        default_region=settings.default_region,
        compliance=compliance,
        matcher=KeywordMatcher(core.campaigns),
    )
    return TextAnswerer(
        core.sessions,
        router,
        wording,
        coupons,
        core.inline_talon,
        awards,
        returning,
        referrals,
        default_region=settings.default_region,
        deadline_seconds=settings.webhook_deadline_seconds,
    )


def build_referrals(
    core: Core, coupons: Coupons, outbox: Outbox, talon: TalonClient | None = None
) -> Referrals:
    """Referral codes for advocates, friends' coupons, the advocate's points and text;
    with the webhook's short Talon.One timeout unless `talon` (the worker's) is given."""
    settings = core.settings
    talon = talon or core.inline_talon
    return Referrals(
        core.sessions,
        core.campaigns,
        coupons,
        ReferralCodes(core.sessions, talon),
        talon,
        outbox=outbox,
        quiet_hours=QuietHours.parse(settings.quiet_hours),
        sms_number=settings.twilio_from_number,
    )


def build_referral_pages(
    core: Core, landing: LandingFlow, claims: LandingClaims, coupons: Coupons, outbox: Outbox
) -> ReferralPages:
    """`/r/<code>`: the friend campaign's page, and the friend's claim through the referral."""
    return ReferralPages(
        core.sessions,
        landing,
        claims,
        core.campaigns,
        build_referrals(core, coupons, outbox),
        identity_secret=core.settings.identity_secret,
    )


def build_landing_claims(core: Core, coupons: Coupons, awards: Awards) -> LandingClaims:
    """What a proved visitor gets (on /q/<slug> and /r/<code>), logged as web messages."""
    return LandingClaims(
        core.sessions,
        core.campaigns,
        coupons,
        core.talon,
        awards,
        identity_secret=core.settings.identity_secret,
        default_region=core.settings.default_region,
    )


def build_landing(core: Core, claims: LandingClaims, outbox: Outbox) -> LandingFlow:
    """The QR landing pages' use cases: one-time codes, then the SMS path's own claim."""
    settings = core.settings
    return LandingFlow(
        core.sessions,
        core.campaigns,
        claims,
        outbox,
        OneTimeCodes(settings.secret_key),
        SendThrottle(
            settings.redis_url or "memory://",
            per_number=settings.otp_limit_per_number,
            per_address=settings.otp_limit_per_ip,
            secret=settings.secret_key,
            ranges=RangeLimit(
                digits=settings.otp_range_digits,
                per_range=settings.otp_limit_per_range,
                block_seconds=settings.otp_range_block_seconds,
            ),
        ),
        build_guards(core),
        PageWords(Catalogues(), settings.languages),
        identity_secret=settings.identity_secret,
        default_region=settings.default_region,
        allowed_regions=settings.otp_regions,
        fallback_sms_number=settings.twilio_from_number,
        public_base_url=settings.public_base_url,
        program_name=settings.program_name,
    )


def build_code_pages(core: Core, coupons: Coupons) -> CodePageFlow:
    """Code pages: the code at the till, its barcode, and the wallets that are set up."""
    settings = core.settings
    return CodePageFlow(
        core.sessions,
        core.campaigns,
        coupons.code_pages,
        ApplePasses(
            settings.apple_pass_type_id,
            settings.apple_team_id,
            settings.apple_pass_cert,
            settings.apple_wwdr_cert,
            organization=settings.program_name,
        ),
        GoogleWallet(
            settings.google_wallet_issuer_id,
            settings.google_wallet_key_file,
            settings.public_base_url,
            brand_name=settings.program_name,
        ),
    )


def build_guards(core: Core) -> LandingGuards:
    """The landing pages' bot challenge (LANDING_CHALLENGE) and screen QR tokens."""
    settings = core.settings
    challenge = (
        BotChallenge(settings.secret_key, settings.redis_url or "memory://")
        if settings.effective_landing_challenge == "altcha"
        else None
    )
    return LandingGuards(
        core.writes,
        challenge,
        ScreenTokens(core.writes, settings.secret_key),
        settings.public_base_url,
    )
