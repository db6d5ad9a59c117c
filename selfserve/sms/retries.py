"""How the outbox's worker jobs hold a row and wait after a failure: leases and backoff."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Retry:
    """Run the job again: `attempt` is the row's claim counter, after `delay_seconds`."""

    attempt: int
    delay_seconds: float


def backoff_seconds(failures: int, base_seconds: float, max_seconds: float) -> float:
    """Exponential backoff with ±20 % jitter: base, 2×base, 4×base … up to max."""
    delay = min(base_seconds * (2 ** max(failures - 1, 0)), max_seconds)
    return delay * random.uniform(0.8, 1.2)


@dataclass(frozen=True)
class RetryPolicy:
    """How the worker's jobs hold a row (lease) and wait after a failure (backoff)."""

    lease_seconds: float = 30.0
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 30.0

    @property
    def lease(self) -> timedelta:
        """How long a claimed row is the claimer's before a sweeper may hand it on."""
        return timedelta(seconds=self.lease_seconds)

    def backoff(self, failures: int) -> float:
        """Seconds to wait after `failures` failures in a row."""
        return backoff_seconds(failures, self.retry_base_seconds, self.retry_max_seconds)


DEFAULT_RETRIES = RetryPolicy()
