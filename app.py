"""The application factory: settings → services → blueprints, error handlers and commands.

`flask --app app run` and `gunicorn "app:create_app()"` both start here.
"""

from __future__ import annotations

import logging

import httpx
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from handlers.errors import register_error_handlers
from handlers.sandbox import create_talon_sandbox
from handlers.sessions import CachedSerializerSessions
from selfserve.campaigns.book import CampaignBook
from selfserve.commands.root import build_cli
from selfserve.coupons.deferrals import DeferredCodes
from selfserve.journeys.birthdays import Birthdays
from selfserve.journeys.loyalty import award_campaign_points
from selfserve.landing.flow import LandingJourney
from selfserve.landing.verification import OneTimeCodes, SendThrottle
from selfserve.ops.database import build_engine, build_sessionmaker
from selfserve.ops.health import database_check, queue_check, redis_check
from selfserve.ops.logs import configure_logging
from selfserve.ops.metrics import MeteredSender, observe_talon_call, operational_gauges
from selfserve.ops.settings import Settings
from selfserve.queue.jobs import Jobs, build_huey
from selfserve.queue.journey_jobs import JourneyJobs
from selfserve.services import Services
from selfserve.sms.outbox import Outbox, RetryPolicy
from selfserve.sms.senders import SandboxSender, SmsSender, TwilioSender
from selfserve.talon.budget import build_budget
from selfserve.talon.client import TalonClient
from selfserve.texts.answerer import TextAnswerer
from selfserve.texts.fast_path import ReturningCustomers
from selfserve.texts.message_log import MessageLogWriter

log = logging.getLogger(__name__)


def build_services(settings: Settings) -> Services:
    """Build every collaborator once, from settings: one place decides what is real."""
    engine = build_engine(settings.database_url)
    sessions = build_sessionmaker(engine)
    writes = build_sessionmaker(engine, write_first=True)
    timeout = httpx.Timeout(
        settings.talon_timeout_seconds, connect=min(2.0, settings.talon_timeout_seconds)
    )
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    if settings.talon_sandbox:
        # The same client, over HTTP semantics, into the built-in sandbox app.
        transport: httpx.BaseTransport = httpx.WSGITransport(app=create_talon_sandbox())
    else:
        transport = httpx.HTTPTransport(limits=limits, retries=0)
    http = httpx.Client(timeout=timeout, transport=transport)
    # One Talon.One budget shared by every web and worker process (see selfserve/budget.py).
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
    sms: SmsSender
    if settings.sms_sandbox:
        sms = SandboxSender()
    else:
        sms = TwilioSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_api_base_url,
            settings.twilio_from_number,
            settings.twilio_messaging_service_sid,
            status_callback_url=settings.public_base_url.rstrip("/") + "/webhooks/twilio/status",
        )
    sms = MeteredSender(sms)
    campaigns = CampaignBook(sessions)
    returning = ReturningCustomers(
        engine,
        campaigns,
        identity_secret=settings.identity_secret,
        log_writer=MessageLogWriter(engine),
    )
    texts = TextAnswerer(
        sessions,
        campaigns,
        # The webhook waits briefly for Talon.One, then owes the code; the worker waits longer.
        talon.with_timeout(settings.talon_inline_timeout_seconds),
        identity_secret=settings.identity_secret,
        default_region=settings.default_region,
        help_text=settings.effective_help_text,
        deadline_seconds=settings.webhook_deadline_seconds,
        returning=returning,
    )
    retries = RetryPolicy(
        lease_seconds=settings.worker_lease_seconds,
        retry_base_seconds=settings.talon_retry_base_seconds,
        retry_max_seconds=settings.talon_retry_max_seconds,
    )
    jobs = Jobs(build_huey(settings.redis_url, settings.queue_path))
    outbox = Outbox(writes, sms, retries=retries)
    deferred_codes = DeferredCodes(writes, campaigns, texts, talon, outbox, retries=retries)
    jobs.bind(deferred_codes, outbox)
    outbox.connect_queue(jobs.enqueue_text)
    texts.connect_queue(jobs.enqueue_code, settings.talon_inline_pause_seconds)
    landing = LandingJourney(
        sessions,
        campaigns,
        texts,
        talon,
        outbox,
        OneTimeCodes(settings.secret_key),
        SendThrottle(
            settings.redis_url or "memory://",
            per_number=settings.otp_limit_per_number,
            per_address=settings.otp_limit_per_ip,
            secret=settings.secret_key,
        ),
        identity_secret=settings.identity_secret,
        default_region=settings.default_region,
        allowed_regions=settings.otp_regions,
        fallback_sms_number=settings.twilio_from_number,
        public_base_url=settings.public_base_url,
        program_name=settings.program_name,
    )
    landing.connect_queue(jobs.enqueue_code)
    # Journeys (birthdays, loyalty points) on the same queue; see selfserve/journey_jobs.py.
    journey_jobs = JourneyJobs(
        jobs.huey, settings.talon_retry_base_seconds, settings.talon_retry_max_seconds
    )
    texts.connect_awards(journey_jobs.enqueue_award)
    landing.connect_awards(journey_jobs.enqueue_award)
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        writes=writes,
        http=http,
        talon=talon,
        sms=sms,
        campaigns=campaigns,
        texts=texts,
        budget=budget,
        jobs=jobs,
        outbox=outbox,
        deferred_codes=deferred_codes,
        landing=landing,
        readiness=[database_check(engine)]
        + ([redis_check(settings.redis_url)] if settings.redis_url else [])
        + [queue_check(jobs.huey)],
        shared_gauges=operational_gauges(
            sessions, budget, jobs.huey, settings.talon_rate_limit_per_minute
        ),
        returning=returning,
        journey_jobs=journey_jobs,
    )
    journey_jobs.bind(
        lambda: Birthdays.from_services(services),
        lambda slug, customer_id: award_campaign_points(
            writes, talon, campaigns, slug, customer_id
        ),
    )
    return services


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

    from handlers import landing, ops, sms
    from handlers.web import init_web_protections

    init_web_protections(app, settings)
    app.register_blueprint(ops.bp)
    from handlers import home, phone
    from handlers.admin import init_console

    init_console(app)
    app.register_blueprint(phone.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(landing.bp)
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
