"""What every use case is built on: storage, Talon.One, SMS, the campaign book, retries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook
from selfserve.ops import Settings, build_engine, build_sessionmaker, observe_talon_call
from selfserve.sms import MeteredSender, RetryPolicy, SandboxSender, SmsSender, TwilioSender
from selfserve.talon import (
    HttpRequests,
    OneConnectionTransports,
    TalonBudget,
    TalonClient,
    build_budget,
)


def build_talon(
    settings: Settings, talon_sandbox: Callable[[], Any]
) -> tuple[HttpRequests, TalonBudget, TalonClient]:
    """The Talon.One client over keep-alive connections, counted by the shared budget.

    `talon_sandbox()` makes the built-in Talon.One sandbox (a WSGI app, handlers/sandbox.py)
    used when no TALON_API_KEY is set."""
    timeout = httpx.Timeout(
        settings.talon_timeout_seconds, connect=min(2.0, settings.talon_timeout_seconds)
    )
    http: HttpRequests
    if settings.talon_sandbox:
        # The same client, over HTTP semantics, into the built-in sandbox app.
        http = httpx.Client(timeout=timeout, transport=httpx.WSGITransport(app=talon_sandbox()))
    else:
        # One keep-alive connection per call in flight (talon/connections.py says why).
        http = OneConnectionTransports(timeout)
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
            # The number customers chat with is our WhatsApp sender unless one is named.
            whatsapp_from=settings.twilio_whatsapp_from or settings.whatsapp_number,
        )
    )


@dataclass(frozen=True)
class Core:
    """What every use case is built on: storage, the two outside services, the campaigns."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    writes: sessionmaker[Session]
    http: HttpRequests
    budget: TalonBudget
    talon: TalonClient
    inline_talon: TalonClient  # the webhook's: waits TALON_INLINE_TIMEOUT_SECONDS at most
    sms: SmsSender
    campaigns: CampaignBook
    retries: RetryPolicy


def build_core(settings: Settings, talon_sandbox: Callable[[], Any]) -> Core:
    """Storage, Talon.One, SMS and the campaign book, from settings."""
    engine = build_engine(settings.database_url)
    sessions = build_sessionmaker(engine)
    http, budget, talon = build_talon(settings, talon_sandbox)
    return Core(
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
