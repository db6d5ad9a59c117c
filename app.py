"""The application factory: settings → services → blueprints, error handlers and commands.

`flask --app app run` and `gunicorn "app:create_app()"` both start here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from handlers.errors import register_error_handlers
from handlers.sandbox import create_talon_sandbox
from handlers.sessions import CachedSerializerSessions
from selfserve.campaigns import CampaignBook
from selfserve.commands import build_cli
from selfserve.coupons import CodeCaps, CodePages, Coupons, ReferralCodes, WarmUps
from selfserve.journeys import Awards, Birthdays, Referrals
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
from selfserve.models import utcnow
from selfserve.ops import (
    Catalogues,
    QuietHours,
    Settings,
    build_engine,
    build_sessionmaker,
    configure_logging,
    database_check,
    observe_talon_call,
    queue_check,
    redis_check,
)
from selfserve.queue import DeferredCodes, Jobs, build_huey, operational_gauges
from selfserve.services import Services
from selfserve.sms import (
    ComplianceWords,
    MeteredSender,
    Outbox,
    RetryPolicy,
    SandboxSender,
    SmsSender,
    TwilioSender,
)
from selfserve.talon import TalonBudget, TalonClient, build_budget
from selfserve.texts import (
    DataRights,
    KeywordMatcher,
    MessageLogWriter,
    ReturningCustomers,
    Router,
    TextAnswerer,
    Wording,
)

log = logging.getLogger(__name__)


def build_talon(settings: Settings) -> tuple[httpx.Client, TalonBudget, TalonClient]:
    """The Talon.One client over one pooled HTTP client, counted by the shared budget."""
    timeout = httpx.Timeout(
        settings.talon_timeout_seconds, connect=min(2.0, settings.talon_timeout_seconds)
    )
    if settings.talon_sandbox:
        # The same client, over HTTP semantics, into the built-in sandbox app.
        transport: httpx.BaseTransport = httpx.WSGITransport(app=create_talon_sandbox())
    else:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        transport = httpx.HTTPTransport(limits=limits, retries=0)
    http = httpx.Client(timeout=timeout, transport=transport)
    # One Talon.One budget shared by every web and worker process (see talon/budget.py).
    budget = build_budget(
        settings.redis_url,
        settings.budget_path,
        settings.talon_rate_limit_per_minute,
        settings.talon_rate_window_seconds,
    )
    talon = TalonClient(
        base_url=settings.talon_base_url,
        api_key=settings.talon_key,
        deployment_host=settings.talon_destination_host,
        platform_name=settings.talon_platform_name,
        dry_run=settings.talon_dry_run,
        http=http,
        observe=observe_talon_call,
        budget=budget,
    )
    return http, budget, talon


def build_sender(settings: Settings) -> SmsSender:
    """Twilio when it is set up, else the sandbox outbox; counted for /metrics either way."""
    if settings.sms_sandbox:
        return MeteredSender(SandboxSender())
    return MeteredSender(
        TwilioSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_api_base_url,
            settings.twilio_from_number,
            settings.twilio_messaging_service_sid,
            status_callback_url=settings.public_base_url.rstrip("/") + "/webhooks/twilio/status",
        )
    )


@dataclass(frozen=True)
class _Core:
    """What every use case is built on: storage, the two outside services, the campaigns."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    writes: sessionmaker[Session]
    http: httpx.Client
    budget: TalonBudget
    talon: TalonClient
    inline_talon: TalonClient  # the webhook's: waits TALON_INLINE_TIMEOUT_SECONDS at most
    sms: SmsSender
    campaigns: CampaignBook
    retries: RetryPolicy


@dataclass(frozen=True)
class _CouponPaths:
    """One Coupons per path, each with its Talon.One client and its own failure pause."""

    webhook: Coupons  # short timeout, owes codes, pauses after a failure
    pages: Coupons  # short timeout, owes codes, never pauses (a visitor is waiting anyway)
    worker: Coupons  # the full timeout; owes nothing (it is the one paying debts)
    warm_ups: WarmUps  # the worker's Coupons, ahead of the customers' asks


def build_core(settings: Settings) -> _Core:
    """Storage, Talon.One, SMS and the campaign book, from settings."""
    engine = build_engine(settings.database_url)
    sessions = build_sessionmaker(engine)
    http, budget, talon = build_talon(settings)
    return _Core(
        settings=settings,
        engine=engine,
        sessions=sessions,
        writes=build_sessionmaker(engine, write_first=True),
        http=http,
        budget=budget,
        talon=talon,
        inline_talon=talon.with_timeout(settings.talon_inline_timeout_seconds),
        sms=build_sender(settings),
        campaigns=CampaignBook(sessions),
        retries=RetryPolicy(
            lease_seconds=settings.worker_lease_seconds,
            retry_base_seconds=settings.talon_retry_base_seconds,
            retry_max_seconds=settings.talon_retry_max_seconds,
        ),
    )


def build_services(settings: Settings) -> Services:
    """Build every collaborator once, from settings: one place decides what is real.

    The queue's jobs run the objects built here, and those objects enqueue jobs (an owed code,
    a retry, a birthday tick's sends). That one circle is closed by `queue`: the objects get
    the queue's enqueue methods through it, and it is set last, before anything can enqueue.
    """
    core = build_core(settings)
    queue: list[Jobs] = []  # the one Jobs, once built

    def jobs() -> Jobs:
        return queue[0]

    awards = Awards(
        core.writes, core.talon, core.campaigns, enqueue=lambda *a: jobs().enqueue_award(*a)
    )
    outbox = Outbox(
        core.writes, core.sms, retries=core.retries, enqueue=lambda *a: jobs().enqueue_text(*a)
    )
    code_pages = CodePages(settings.secret_key, settings.public_base_url)
    # Texts and pages cap new codes per person per day (code farming); the worker pays
    # codes already promised, birthdays are one a year: no caps there.
    caps = CodeCaps(per_number_per_day=settings.max_new_codes_per_number_per_day)
    coupons = Coupons(
        core.sessions,
        core.inline_talon,
        code_pages=code_pages,
        enqueue_owed=lambda *a: jobs().enqueue_code(*a),
        pause_after_failure_seconds=settings.talon_inline_pause_seconds,
        caps=caps,
    )
    page_coupons = Coupons(  # the landing pages wait out the timeout: no pause
        core.sessions,
        core.inline_talon,
        code_pages=code_pages,
        enqueue_owed=lambda *a: jobs().enqueue_code(*a),
        caps=caps,
    )
    worker_coupons = Coupons(core.sessions, core.talon, code_pages=code_pages)
    warm_ups = WarmUps(  # fetches directory customers' codes ahead, with a share of the budget
        core.sessions,
        core.writes,
        core.campaigns,
        worker_coupons,
        core.budget,
        limit_per_window=settings.talon_rate_limit_per_minute,
        default_region=settings.default_region,
        dry_run=settings.talon_dry_run,
    )
    deferred = DeferredCodes(
        core.writes,
        core.campaigns,
        worker_coupons,
        outbox,
        Awards(core.writes, core.talon, core.campaigns),
        default_region=settings.default_region,
        retries=core.retries,
    )

    def birthdays(clock: Callable[[], datetime] = utcnow) -> Birthdays:
        return Birthdays(
            core.sessions,
            core.campaigns,
            worker_coupons,
            core.talon,
            outbox,
            settings.default_region,
            QuietHours.parse(settings.quiet_hours),
            clock,
            queue=jobs(),
            retry_base_seconds=settings.talon_retry_base_seconds,
            retry_max_seconds=settings.talon_retry_max_seconds,
        )

    huey = build_huey(settings.redis_url, settings.queue_path)
    queue.append(
        Jobs(
            huey,
            codes=deferred,
            outbox=outbox,
            birthdays=birthdays,
            awards=awards,
            warm_up=warm_ups.run_slice,
            retry_base_seconds=settings.talon_retry_base_seconds,
            retry_max_seconds=settings.talon_retry_max_seconds,
        )
    )
    coupon_paths = _CouponPaths(coupons, page_coupons, worker_coupons, warm_ups)
    return _services(core, awards, outbox, coupon_paths, deferred, birthdays, jobs())


def _services(
    core: _Core,
    awards: Awards,
    outbox: Outbox,
    coupons: _CouponPaths,
    deferred: DeferredCodes,
    birthdays: Callable[..., Birthdays],
    jobs: Jobs,
) -> Services:
    settings = core.settings
    compliance = ComplianceWords(settings.languages)  # one list for the fast and slow paths
    landing = build_landing(core, coupons.pages, awards, outbox)
    returning = ReturningCustomers(
        core.engine,
        core.campaigns,
        identity_secret=settings.identity_secret,
        log_writer=MessageLogWriter(core.engine),
        compliance=compliance,
    )
    return Services(
        settings=settings,
        engine=core.engine,
        sessions=core.sessions,
        writes=core.writes,
        http=core.http,
        talon=core.talon,
        sms=core.sms,
        campaigns=core.campaigns,
        coupons=coupons.webhook,
        worker_coupons=coupons.worker,
        warm_ups=coupons.warm_ups,
        texts=build_texts(core, coupons.webhook, awards, returning, compliance, outbox),
        budget=core.budget,
        jobs=jobs,
        outbox=outbox,
        deferred_codes=deferred,
        landing=landing,
        referral_pages=ReferralPages(
            core.sessions,
            landing,
            build_referrals(core, coupons.pages, outbox),
            coupons.pages,
            identity_secret=settings.identity_secret,
        ),
        code_page_flow=build_code_pages(core, coupons.pages),
        returning=returning,
        birthdays=birthdays,
        readiness=[database_check(core.engine)]
        + ([redis_check(settings.redis_url)] if settings.redis_url else [])
        + [queue_check(jobs.huey)],
        shared_gauges=operational_gauges(
            core.sessions, core.budget, jobs.huey, settings.talon_rate_limit_per_minute
        ),
    )


def build_texts(
    core: _Core,
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


def build_referrals(core: _Core, coupons: Coupons, outbox: Outbox) -> Referrals:
    """Referral codes for advocates, friends' coupons, the advocate's points and text."""
    settings = core.settings
    return Referrals(
        core.sessions,
        core.campaigns,
        coupons,
        ReferralCodes(core.sessions, core.inline_talon),
        core.inline_talon,
        outbox=outbox,
        quiet_hours=QuietHours.parse(settings.quiet_hours),
        sms_number=settings.twilio_from_number,
    )


def build_landing(core: _Core, coupons: Coupons, awards: Awards, outbox: Outbox) -> LandingFlow:
    """The QR landing pages' use cases: one-time codes, then the SMS path's own claim."""
    settings = core.settings
    claims = LandingClaims(
        core.sessions,
        core.campaigns,
        coupons,
        core.talon,
        awards,
        identity_secret=settings.identity_secret,
        default_region=settings.default_region,
    )
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


def build_code_pages(core: _Core, coupons: Coupons) -> CodePageFlow:
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


def build_guards(core: _Core) -> LandingGuards:
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


def create_webhook_app(services: Services) -> Flask:
    """Twilio's webhooks (inbound texts, delivery statuses) as a small Flask app of their own.

    The pages' app runs a session, CSRF and per-IP throttle hooks on every request; none of
    them applies to a signed machine-to-machine call, and together they cost a returning
    customer's text about a quarter of its time. This app has no secret key (so no session),
    no CSRF (Twilio cannot send a token; its signature proves the sender) and no throttle
    (every text comes from a few of Twilio's addresses). `create_app` mounts it at
    /webhooks/twilio with Werkzeug's DispatcherMiddleware: same process, same services.
    """
    from handlers import sms

    hooks = Flask(__name__)
    hooks.config.update(MAX_CONTENT_LENGTH=256 * 1024)
    hooks.extensions["selfserve"] = services
    hooks.register_blueprint(sms.bp)
    register_error_handlers(hooks)
    return hooks


def create_app(settings: Settings | None = None) -> Flask:
    """Create the selfserve app; tests pass their own Settings."""
    if settings is None:
        settings = Settings.from_environment()
    configure_logging(as_json=settings.log_json)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    app.session_interface = CachedSerializerSessions()
    services = build_services(settings)
    app.extensions["selfserve"] = services

    from handlers import code_pages, landing, ops, sms
    from handlers.web import init_web_protections

    init_web_protections(app, settings)
    from handlers.page_words import init_page_words

    init_page_words(app)
    app.register_blueprint(ops.bp)
    from handlers import home, phone
    from handlers.admin import init_console

    init_console(app)
    app.register_blueprint(phone.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(landing.bp)
    app.register_blueprint(landing.referral_bp)
    app.register_blueprint(code_pages.bp)
    from handlers import screen

    app.register_blueprint(screen.bp)
    register_error_handlers(app)
    # Twilio's webhooks are served by an app of their own (see create_webhook_app).
    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {sms.MOUNT_POINT: create_webhook_app(services)}
    )
    if settings.trusted_proxy_hops:
        # Behind N proxies (a TLS terminator, a load balancer): trust their X-Forwarded-For and
        # -Proto so per-IP throttles see the customer and the scheme is https. Twilio
        # signatures do not depend on this: they are checked against PUBLIC_BASE_URL.
        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    for command in build_cli(lambda: services):
        app.cli.add_command(command)
    log.debug(
        "app_created",
        extra={
            "talon": "sandbox" if settings.talon_sandbox else "live",
            "sms": "sandbox" if settings.sms_sandbox else "twilio",
        },
    )
    return app
