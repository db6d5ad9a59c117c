"""What /metrics reads from shared state at scrape time: the budget, the queue, owed codes."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import func, select

from selfserve.coupons import PENDING
from selfserve.models import DeferredCode, OutboundMessage, utcnow
from selfserve.ops.metrics import SharedGauge
from selfserve.sms import WAITING


def operational_gauges(
    sessions: Any, budget: Any, huey: Any, budget_limit: int
) -> list[SharedGauge]:
    """The gauges read from shared state at scrape time: budget, queue, owed codes.

    `budget` has `spent_in_window()`; `huey` is the task queue (Redis or SQLite storage).
    Every worker and host reads the same shared state, so every /metrics page agrees.
    """
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
        SharedGauge(
            "selfserve_codes_owed",
            "Codes Talon.One could not give in time, still to be texted",
            lambda: codes_owed(sessions),
        ),
    ]


def oldest_job_age(sessions: Any) -> float:
    """Seconds since the oldest code owed by SMS or text waiting to be sent (0: none)."""
    with sessions() as db:
        oldest = [
            db.scalar(
                select(func.min(DeferredCode.created_at)).where(DeferredCode.state == PENDING)
            ),
            db.scalar(
                select(func.min(OutboundMessage.created_at)).where(
                    OutboundMessage.status == WAITING
                )
            ),
        ]
    found = [moment for moment in oldest if moment is not None]
    if not found:
        return 0.0
    first = min(found)
    if first.tzinfo is None:  # SQLite's func.min returns text-derived naive values
        first = first.replace(tzinfo=UTC)
    return max(0.0, (utcnow() - first).total_seconds())


def codes_owed(sessions: Any) -> float:
    """How many codes Talon.One could not give in time are still to be texted."""
    with sessions() as db:
        return float(
            db.scalar(
                select(func.count()).select_from(DeferredCode).where(DeferredCode.state == PENDING)
            )
            or 0
        )
