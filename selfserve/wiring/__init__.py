"""Wiring: the composition root. Builds every collaborator once, from settings.

Owns `build_services`, which decides what is real in this deployment (Talon.One or its
sandbox, Twilio or the SMS sandbox, SQLite or PostgreSQL, the embedded queue or Redis) and
hands each use case everything it needs through its constructor. It may import every
selfserve package (it is the only one that does); app.py calls it and nothing else imports
it, and it never imports flask or handlers (the Talon.One sandbox app is passed in).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from selfserve.console import AuditRetention, AuditTrail, PasswordPolicy, PwnedPasswords
from selfserve.coupons import Coupons, RedemptionSync, WarmUps
from selfserve.journeys import Awards, Birthdays
from selfserve.models import utcnow
from selfserve.ops import (
    QuietHours,
    ReadinessCheck,
    Settings,
    SharedGauge,
    database_check,
    migrate,
    migrations_check,
    queue_check,
    redis_check,
)
from selfserve.queue import DeferredCodes, Jobs, OwedReferrals, build_huey, operational_gauges
from selfserve.services import Services
from selfserve.sms import ComplianceWords, Outbox
from selfserve.talon import ManagementClient
from selfserve.texts import MessageLogWriter, ReturningCustomers
from selfserve.wiring.core import Core, build_core
from selfserve.wiring.use_cases import (
    CouponPaths,
    build_code_pages,
    build_coupon_paths,
    build_landing,
    build_landing_claims,
    build_referral_pages,
    build_referrals,
    build_texts,
)

__all__ = ["build_services"]


def build_services(settings: Settings, talon_sandbox: Callable[[], Any]) -> Services:
    """Build every collaborator once, from settings: one place decides what is real.

    The queue's jobs run the objects built here, and those objects enqueue jobs (an owed code,
    a retry, a birthday tick's sends). That one circle is closed by `queue`: the objects get
    the queue's enqueue methods through it, and it is set last, before anything can enqueue.
    """
    core = build_core(settings, talon_sandbox)
    queue: list[Jobs] = []  # the one Jobs, once built

    def jobs() -> Jobs:
        return queue[0]

    awards = Awards(
        core.writes, core.talon, core.campaigns, enqueue=lambda *a: jobs().enqueue_award(*a)
    )
    outbox = Outbox(
        core.writes, core.sms, retries=core.retries, enqueue=lambda *a: jobs().enqueue_text(*a)
    )
    coupons = build_coupon_paths(core, enqueue_owed=lambda *a: jobs().enqueue_code(*a))
    deferred = DeferredCodes(
        core.writes,
        core.campaigns,
        coupons.worker,
        outbox,
        Awards(core.writes, core.talon, core.campaigns),  # the worker awards at once
        OwedReferrals(build_referrals(core, coupons.worker, outbox, core.talon), coupons.worker),
        default_region=settings.default_region,
        retries=core.retries,
    )
    birthdays = birthdays_factory(core, coupons.worker, outbox, jobs)
    redemptions = build_redemptions(core)
    queue.append(
        build_jobs(core, deferred, outbox, birthdays, awards, coupons.warm_ups, redemptions)
    )
    services = _services(core, awards, outbox, coupons, deferred, birthdays, jobs())
    services.redemptions = redemptions
    return services


def build_redemptions(core: Core) -> RedemptionSync | None:
    """The redemption sync over Talon.One's Management API; None without a Management key."""
    settings = core.settings
    if not settings.redemptions_on:
        return None
    timeout = httpx.Timeout(60.0, connect=5.0)  # an export of many effects takes a while
    management = ManagementClient(
        settings.talon_management_base_url,
        settings.talon_management_key,
        httpx.Client(timeout=timeout),
    )
    return RedemptionSync(core.writes, core.campaigns, management)


def birthdays_factory(
    core: Core, coupons: Coupons, outbox: Outbox, jobs: Callable[[], Jobs]
) -> Callable[..., Birthdays]:
    """birthdays(clock=utcnow): a Birthdays with a clock of its own, for each run."""
    settings = core.settings

    def birthdays(clock: Callable[[], datetime] = utcnow) -> Birthdays:
        return Birthdays(
            core.sessions,
            core.campaigns,
            coupons,
            core.talon,
            outbox,
            settings.default_region,
            QuietHours.parse(settings.quiet_hours),
            clock,
            queue=jobs(),
            retry_base_seconds=settings.talon_retry_base_seconds,
            retry_max_seconds=settings.talon_retry_max_seconds,
        )

    return birthdays


def build_jobs(
    core: Core,
    deferred: DeferredCodes,
    outbox: Outbox,
    birthdays: Callable[..., Birthdays],
    awards: Awards,
    warm_ups: WarmUps,
    redemptions: RedemptionSync | None = None,
) -> Jobs:
    """The task queue (SQLite or Redis) with what each of its jobs runs."""
    settings = core.settings
    every = timedelta(minutes=settings.redemptions_sync_minutes)
    return Jobs(
        build_huey(settings.redis_url, settings.queue_path),
        codes=deferred,
        outbox=outbox,
        birthdays=birthdays,
        awards=awards,
        warm_up=warm_ups.run_slice,
        redemptions=(lambda: redemptions.run_if_due(every)) if redemptions else None,
        prune_audit=AuditRetention(core.writes, settings.audit_retention_days).prune_now,
        retry_base_seconds=settings.talon_retry_base_seconds,
        retry_max_seconds=settings.talon_retry_max_seconds,
    )


def _services(
    core: Core,
    awards: Awards,
    outbox: Outbox,
    coupons: CouponPaths,
    deferred: DeferredCodes,
    birthdays: Callable[..., Birthdays],
    jobs: Jobs,
) -> Services:
    settings = core.settings
    compliance = ComplianceWords(settings.languages)  # one list for the fast and slow paths
    claims = build_landing_claims(core, coupons.pages, awards)
    landing = build_landing(core, claims, outbox)
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
        referral_pages=build_referral_pages(core, landing, claims, coupons.pages, outbox),
        code_page_flow=build_code_pages(core, coupons.pages),
        returning=returning,
        audit=AuditTrail(core.writes),
        passwords=build_password_policy(settings),
        birthdays=birthdays,
        readiness=_readiness(core, jobs),
        shared_gauges=_gauges(core, jobs),
    )


def build_password_policy(settings: Settings) -> PasswordPolicy:
    """Console password rules, with Pwned Passwords when PASSWORD_BREACH_CHECK=hibp."""
    if settings.password_breach_check != "hibp":  # noqa: S105 - a mode's name, not a secret
        return PasswordPolicy()
    http = httpx.Client(timeout=httpx.Timeout(3.0, connect=2.0))  # fails open when slow
    return PasswordPolicy(PwnedPasswords(http, settings.pwned_passwords_url))


def _readiness(core: Core, jobs: Jobs) -> list[ReadinessCheck]:
    """What /readyz checks: the database, its migrations, Redis when set, the queue."""
    redis_url = core.settings.redis_url
    head, known = migrate.head_revision(), migrate.known_revisions()
    return [
        database_check(core.engine),
        migrations_check(core.engine, head, known, migrate.legacy_revisions()),
        *([redis_check(redis_url)] if redis_url else []),
        queue_check(jobs.huey),
    ]


def _gauges(core: Core, jobs: Jobs) -> list[SharedGauge]:
    """What /metrics reads from shared state at scrape time."""
    return operational_gauges(
        core.sessions,
        core.budget,
        jobs.huey,
        core.settings.talon_rate_limit_per_minute,
        jobs.heartbeat,
    )
