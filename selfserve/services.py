"""The collaborators one running app shares: built once by the factory, used everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook
from selfserve.health import ReadinessCheck
from selfserve.metrics import SharedGauge
from selfserve.returning import ReturningCustomers
from selfserve.settings import Settings
from selfserve.sms import SmsSender, record_status
from selfserve.talon import TalonClient
from selfserve.texts import TextAnswerer


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
    readiness: list[ReadinessCheck] = field(default_factory=list)  # what /readyz checks
    shared_gauges: list[SharedGauge] = field(default_factory=list)  # read when /metrics is scraped
    returning: ReturningCustomers | None = None  # the fast path and its message-log writer

    def record_delivery_status(self, message_sid: str, status: str, error_code: int | None) -> None:
        """Apply a Twilio status callback; a 21610 failure records the opt-out."""
        with self.sessions.begin() as db:
            record_status(db, message_sid, status, error_code, opt_out_on_21610=True)

    def close(self) -> None:
        """Write what is queued, then release connections (tests build many apps)."""
        if self.returning is not None:
            self.returning.close()
        self.http.close()
        self.engine.dispose()
