"""What /metrics reads from shared state at scrape time: the budget, the queue, owed codes,
the outbox and the workers' heartbeat (deploy/prometheus/alerts.yml alerts on them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from selfserve.coupons import PENDING
from selfserve.models import DeferredCode, OutboundMessage, utcnow
from selfserve.ops.metrics import SharedGauge
from selfserve.queue.heartbeat import WorkerHeartbeat
from selfserve.sms import FAILED, UNCERTAIN, WAITING

RECENT = timedelta(minutes=15)  # selfserve_outbox_failed_recently's window
GAVE_UP = (FAILED, UNCERTAIN)  # outbox states of a text that will not be sent


def operational_gauges(
    sessions: Any, budget: Any, huey: Any, budget_limit: int, heartbeat: WorkerHeartbeat
) -> list[SharedGauge]:
    """The gauges read from shared state at scrape time: budget, queue, owed codes, outbox.

    `budget` has `spent_in_window()`; `huey` is the task queue (Redis or SQLite storage).
    Every worker and host reads the same shared state, so every /metrics page agrees.
    """
    return [
        *_budget_and_queue(budget, huey, budget_limit, sessions),
        *_owed_and_outbox(sessions),
        SharedGauge(
            "selfserve_worker_heartbeat_age_seconds",
            "Seconds since any worker last finished a job (the birthday tick runs every minute)",
            heartbeat.age_seconds,
        ),
    ]


def _budget_and_queue(
    budget: Any, huey: Any, budget_limit: int, sessions: Any
) -> list[SharedGauge]:
    return [
        SharedGauge(
            "selfserve_talon_budget_used",
            "Talon.One calls counted in the current moving window, all processes together",
            lambda: float(budget.spent_in_window()),
        ),
        SharedGauge(
            "selfserve_talon_budget_limit",
            "Talon.One calls allowed per window (TALON_RATE_LIMIT_PER_MINUTE)",
            lambda: float(budget_limit),
        ),
        SharedGauge(
            "selfserve_queue_depth",
            "Jobs waiting in the task queue to run now",
            lambda: float(huey.pending_count()),
        ),
        SharedGauge(
            "selfserve_queue_scheduled",
            "Jobs waiting for a later time (retries with backoff)",
            lambda: float(huey.scheduled_count()),
        ),
        SharedGauge(
            "selfserve_queue_oldest_job_age_seconds",
            "Age of the oldest code owed by SMS or text waiting to be sent (0: none)",
            lambda: oldest_job_age(sessions),
        ),
    ]


def _owed_and_outbox(sessions: Any) -> list[SharedGauge]:
    return [
        SharedGauge(
            "selfserve_codes_owed",
            "Codes Talon.One could not give in time, still to be texted",
            lambda: codes_owed(sessions),
        ),
        SharedGauge(
            "selfserve_codes_owed_oldest_age_seconds",
            "Age of the oldest code still owed by SMS (0: none)",
            lambda: _age(_oldest(sessions, DeferredCode.created_at, DeferredCode.state == PENDING)),
        ),
        SharedGauge(
            "selfserve_outbox_waiting",
            "Texts recorded in the outbox, not yet handed to Twilio",
            lambda: _count(sessions, OutboundMessage.status == WAITING),
        ),
        SharedGauge(
            "selfserve_outbox_failed_recently",
            "Outbox texts given up on (failed, or fate uncertain) in the last 15 minutes",
            lambda: _count(
                sessions,
                OutboundMessage.status.in_(GAVE_UP),
                OutboundMessage.created_at >= utcnow() - RECENT,
            ),
        ),
    ]


def oldest_job_age(sessions: Any) -> float:
    """Seconds since the oldest code owed by SMS or text waiting to be sent (0: none)."""
    oldest = [
        _oldest(sessions, DeferredCode.created_at, DeferredCode.state == PENDING),
        _oldest(sessions, OutboundMessage.created_at, OutboundMessage.status == WAITING),
    ]
    found = [moment for moment in oldest if moment is not None]
    return _age(min(found)) if found else 0.0


def _oldest(sessions: Any, column: Any, condition: Any) -> datetime | None:
    with sessions() as db:
        first = db.scalar(select(func.min(column)).where(condition))
    if first is not None and first.tzinfo is None:  # SQLite's func.min gives naive values
        first = first.replace(tzinfo=UTC)
    return first


def _age(moment: datetime | None) -> float:
    return 0.0 if moment is None else max(0.0, (utcnow() - moment).total_seconds())


def _count(sessions: Any, *conditions: Any) -> float:
    with sessions() as db:
        return float(
            db.scalar(select(func.count()).select_from(OutboundMessage).where(*conditions)) or 0
        )


def codes_owed(sessions: Any) -> float:
    """How many codes Talon.One could not give in time are still to be texted."""
    with sessions() as db:
        return float(
            db.scalar(
                select(func.count()).select_from(DeferredCode).where(DeferredCode.state == PENDING)
            )
            or 0
        )
