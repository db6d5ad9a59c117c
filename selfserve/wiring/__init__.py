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

from selfserve.console import (
    AuditRetention,
    AuditTrail,
    PasswordPolicy,
    PwnedPasswords,
    missed_texts,
)
from selfserve.coupons import Coupons, RedemptionSync, WarmUps
from selfserve.journeys import Awards, Birthdays
from selfserve.models import utcnow
from selfserve.ops import (
    QuietHours,
    ReadinessCheck,
    Settings,
    SharedGauge,
    Spool,
    database_check,
    migrate,
    migrations_check,
    queue_check,
    redis_check,
    spool_check,
    spool_gauges,
)
from selfserve.queue import DeferredCodes, Jobs, OwedReferrals, build_huey, operational_gauges
from selfserve.services import Services
from selfserve.sms import ComplianceWords, Outbox
from selfserve.talon import ManagementClient
from selfserve.texts import MessageLogWriter, Reconciler, ReturningCustomers
from selfserve.wiring.core import Core, build_core
from selfserve.wiring.outages import build_outages
from selfserve.wiring.sign_in import audited_sign_in
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
    reconcilers: list[Reconciler] = []  # built with the texts, after the queue
    reconcile = None if settings.sms_sandbox else _scheduled(reconcilers, settings)
    redemptions = build_redemptions(core)
    queue.append(
        build_jobs(
            core, deferred, outbox, birthdays, awards, coupons.warm_ups, redemptions, reconcile
        )
    )
    services = _services(core, awards, outbox, coupons, deferred, birthdays, jobs())
    services.redemptions = redemptions
    if services.reconciler is not None:
        reconcilers.append(services.reconciler)
    return services


def _scheduled(reconcilers: list[Reconciler], settings: Settings) -> Callable[[], object]:
    """The worker's periodic reconciliation, once the Reconciler is built."""

    def reconcile() -> object:
        every = settings.reconcile_every_minutes
        return reconcilers[0].run_scheduled(every) if reconcilers else None

    return reconcile


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
    reconcile: Callable[[], object] | None = None,
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
        reconcile=reconcile,
        reconcile_every_minutes=settings.reconcile_every_minutes,
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
    returning = _returning(core, compliance)
    texts = build_texts(core, coupons.webhook, awards, returning, compliance, outbox)
    outages = build_outages(core, texts, outbox, compliance)
    audit = AuditTrail(core.writes)
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
        texts=texts,
        inbound=outages.inbound,
        late_answers=outages.late,
        spool=outages.spool,
        drainer=outages.drainer,
        reconciler=outages.reconciler,
        budget=core.budget,
        jobs=jobs,
        outbox=outbox,
        deferred_codes=deferred,
        landing=landing,
        referral_pages=build_referral_pages(core, landing, claims, coupons.pages, outbox),
        code_page_flow=build_code_pages(core, coupons.pages),
        returning=returning,
        **audited_sign_in(settings, core.writes, audit.record).services_fields(),
        audit=audit,
        passwords=build_password_policy(settings),
        birthdays=birthdays,
        readiness=_readiness(core, jobs, outages.spool),
        shared_gauges=_gauges(core, jobs) + spool_gauges(outages.spool.depth) + [_missed(core)],
    )


def _returning(core: Core, compliance: ComplianceWords) -> ReturningCustomers:
    """The returning customer's fast path and its message-log writer."""
    return ReturningCustomers(
        core.engine,
        core.campaigns,
        identity_secret=core.settings.identity_secret,
        log_writer=MessageLogWriter(core.engine),
        compliance=compliance,
        timeout_seconds=core.settings.database_timeout_seconds,
    )


def build_password_policy(settings: Settings) -> PasswordPolicy:
    """Console password rules, with Pwned Passwords when PASSWORD_BREACH_CHECK=hibp."""
    if settings.password_breach_check != "hibp":  # noqa: S105 - a mode's name, not a secret
        return PasswordPolicy()
    http = httpx.Client(timeout=httpx.Timeout(3.0, connect=2.0))  # fails open when slow
    return PasswordPolicy(PwnedPasswords(http, settings.pwned_passwords_url))


def _readiness(core: Core, jobs: Jobs, spool: Spool) -> list[ReadinessCheck]:
    """What /readyz checks: the spool, the database, its migrations, Redis when set, the
    queue."""
    settings = core.settings
    redis_url = settings.redis_url
    head, known = migrate.head_revision(), migrate.known_revisions()
    return [
        spool_check(settings.spool_path, spool.depth),  # before the database: it covers it
        database_check(
            core.engine, covered_by="spool", timeout_seconds=settings.database_timeout_seconds
        ),
        migrations_check(core.engine, head, known, migrate.legacy_revisions()),
        *([redis_check(redis_url)] if redis_url else []),
        queue_check(jobs.huey),
    ]


def _missed(core: Core) -> SharedGauge:
    """Texts found by reconciliation too late to answer (texts/reconcile.py)."""

    def read() -> float:
        with core.sessions() as db:
            return float(missed_texts(db, limit=0).count)

    return SharedGauge(
        "selfserve_texts_missed",
        "Inbound texts only Twilio had, found past RECONCILE_MAX_AGE_MINUTES and not answered",
        read,
    )


def _gauges(core: Core, jobs: Jobs) -> list[SharedGauge]:
    """What /metrics reads from shared state at scrape time."""
    return operational_gauges(
        core.sessions,
        core.budget,
        jobs.huey,
        core.settings.talon_rate_limit_per_minute,
        jobs.heartbeat,
    )
