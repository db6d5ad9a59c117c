"""The collaborators one running app shares: built once by the factory, used everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns.book import CampaignBook
from selfserve.coupons.deferrals import DeferredCodes
from selfserve.landing.flow import LandingJourney
from selfserve.ops import metrics
from selfserve.ops.health import ReadinessCheck
from selfserve.ops.metrics import SharedGauge
from selfserve.ops.settings import Settings
from selfserve.queue.jobs import Jobs
from selfserve.queue.journey_jobs import JourneyJobs
from selfserve.sms.outbox import Outbox
from selfserve.sms.senders import SmsSender, record_status
from selfserve.talon.budget import TalonBudget
from selfserve.talon.client import TalonClient
from selfserve.texts.answerer import TextAnswerer
from selfserve.texts.fast_path import ReturningCustomers


@dataclass
class Services:
    """What is real in this deployment; handlers and commands ask for these, never build them."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    writes: sessionmaker[Session]  # for transactions that read before they write
    http: httpx.Client
    talon: TalonClient
    sms: SmsSender
    campaigns: CampaignBook
    texts: TextAnswerer
    budget: TalonBudget  # the Talon.One calls every process shares (selfserve/budget.py)
    jobs: Jobs  # the task queue (selfserve/jobs.py)
    outbox: Outbox  # every text we send ourselves: outbox.send(...) (selfserve/outbox.py)
    deferred_codes: DeferredCodes  # codes owed by SMS (selfserve/deferrals.py)
    landing: LandingJourney  # the QR landing pages' journey (one-time codes, claims)
    journey_jobs: JourneyJobs  # birthdays and loyalty points on the queue (journey_jobs.py)
    readiness: list[ReadinessCheck] = field(default_factory=list)  # what /readyz checks
    shared_gauges: list[SharedGauge] = field(default_factory=list)  # read when /metrics is scraped
    returning: ReturningCustomers | None = None  # the fast path and its message-log writer

    def record_delivery_status(self, message_sid: str, status: str, error_code: int | None) -> None:
        """Apply a Twilio status callback; a 21610 failure records the opt-out."""
        with self.sessions.begin() as db:
            record_status(db, message_sid, status, error_code, opt_out_on_21610=True)

    def close(self) -> None:
        """Write what is queued, then release connections (tests build many apps)."""
        metrics.flush()
        if self.returning is not None:
            self.returning.close()
        self.http.close()
        self.budget.close()
        self.jobs.huey.storage.close()
        self.landing.close()
        self.engine.dispose()
