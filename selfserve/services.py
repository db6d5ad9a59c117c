"""The collaborators one running app shares: built once (selfserve/wiring), used everywhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook
from selfserve.console import (
    AuditTrail,
    Passkeys,
    PasswordPolicy,
    RecordEvent,
    SecondFactors,
    SingleSignOn,
)
from selfserve.coupons import Coupons, RedemptionSync, WarmUps
from selfserve.journeys import Birthdays
from selfserve.landing import CodePageFlow, LandingFlow, ReferralPages
from selfserve.ops import ReadinessCheck, Settings, SharedGauge, Spool, metrics
from selfserve.queue import DeferredCodes, Jobs
from selfserve.sms import Outbox, SmsSender, record_status
from selfserve.talon import HttpRequests, TalonBudget, TalonClient
from selfserve.texts import (
    LateAnswers,
    Reconciler,
    ReturningCustomers,
    SpoolDrainer,
    SpoolingAnswerer,
    TextAnswerer,
)


@dataclass
class Services:
    """What is real in this deployment; handlers and commands ask for these, never build them."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    writes: sessionmaker[Session]  # for transactions that read before they write
    http: HttpRequests
    talon: TalonClient  # the worker's client: the full TALON_TIMEOUT_SECONDS
    sms: SmsSender
    campaigns: CampaignBook
    coupons: Coupons  # the webhook's and pages' claims: the short inline timeout
    worker_coupons: Coupons  # the worker's claims (owed codes, birthdays): the full timeout
    warm_ups: WarmUps  # codes fetched ahead for directory customers (coupons/warm_up.py)
    texts: TextAnswerer
    inbound: SpoolingAnswerer  # the webhook's answer: texts, or the spool when the DB is away
    late_answers: LateAnswers  # answer a text later, by outbound text (drainer, reconcile)
    spool: Spool  # texts held on this host's disk during a database outage
    drainer: SpoolDrainer  # feeds the spool to late_answers once the database is back
    reconciler: Reconciler | None  # texts only Twilio knows about (None: no credentials)
    budget: TalonBudget  # the Talon.One calls every process shares (talon/budget.py)
    jobs: Jobs  # the task queue (queue/jobs.py)
    outbox: Outbox  # every text we send ourselves: outbox.send(...) (sms/outbox.py)
    deferred_codes: DeferredCodes  # codes owed by SMS (queue/deferred_codes.py)
    landing: LandingFlow  # the QR landing pages (one-time codes, claims)
    referral_pages: ReferralPages  # /r/<code>: a referral code's landing page
    code_page_flow: CodePageFlow  # /c/<token>: a code at the till, its barcode and wallets
    returning: ReturningCustomers  # the fast path and its message-log writer
    record_event: RecordEvent  # console security events (MFA, passkeys, SSO): the audit trail
    factors: SecondFactors  # console users' authenticator apps and recovery codes
    passkeys: Passkeys  # console users' passkeys (WebAuthn)
    sso: SingleSignOn | None  # OpenID Connect log-in, when OIDC_ISSUER is set
    audit: AuditTrail  # the hash-chained audit trail: audit.record(actor, action, ...)
    passwords: PasswordPolicy  # console password rules (and the breach check, if on)
    birthdays: Callable[..., Birthdays] = field(repr=False)  # birthdays(clock=utcnow)
    readiness: list[ReadinessCheck] = field(default_factory=list)  # what /readyz checks
    shared_gauges: list[SharedGauge] = field(default_factory=list)  # read when /metrics is scraped
    # Which codes were redeemed (coupons/redemptions.py); None without TALON_MANAGEMENT_KEY.
    redemptions: RedemptionSync | None = None

    def record_delivery_status(self, message_sid: str, status: str, error_code: int | None) -> None:
        """Apply a Twilio status callback; a 21610 failure records the opt-out."""
        with self.sessions.begin() as db:
            record_status(db, message_sid, status, error_code)
        self.outbox.after_status(message_sid, error_code)  # WhatsApp: template or SMS now

    def close(self) -> None:
        """Write what is queued, then release connections (tests build many apps)."""
        metrics.flush()
        self.drainer.stop()
        self.returning.close()
        self.http.close()
        if self.redemptions is not None:
            self.redemptions.close()
        self.passwords.close()
        self.budget.close()
        self.jobs.huey.storage.close()
        self.landing.close()
        self.engine.dispose()
