"""The workers' heartbeat: when a worker last finished a job, kept in the queue's own storage.

The worker runs in processes (and containers, and hosts) of its own that nobody scrapes, so
"is any worker consuming?" is answered from shared state: each finished job (the birthday tick
runs every minute, so an idle worker finishes one a minute too) writes the time into the
queue's storage (Redis, or the SQLite queue file), at most once per `every_seconds` per
process, and /metrics reports its age (`selfserve_worker_heartbeat_age_seconds`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from huey import Huey
from huey.constants import EmptyData
from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR

log = logging.getLogger(__name__)

KEY = "selfserve:worker_heartbeat"


class WorkerHeartbeat:
    """Writes and reads the time a worker of this queue last finished a job."""

    def __init__(
        self, huey: Huey, every_seconds: float = 5.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._huey = huey
        self._every = every_seconds
        self._clock = clock
        self._written_at = float("-inf")
        self._writing = threading.Lock()

    def listen(self) -> None:
        """Beat whenever a consumer of this queue finishes a job, well or badly."""
        self._huey.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)(self._on_finished)

    def _on_finished(self, signal: str, task: object, *args: object) -> None:
        try:
            self.beat()
        except Exception:  # noqa: BLE001 - a heartbeat must never fail a job
            log.warning("worker_heartbeat_unwritten", exc_info=True)

    def beat(self) -> None:
        """Record now as the last finished job (skipped if this process did within the period)."""
        now = self._clock()
        with self._writing:
            if now - self._written_at < self._every:
                return
            self._written_at = now
        self._huey.storage.put_data(KEY, repr(now).encode())

    def age_seconds(self) -> float | None:
        """Seconds since any worker last finished a job; None when none ever has."""
        stored = self._huey.storage.peek_data(KEY)
        if stored is EmptyData or stored is None:
            return None
        return max(0.0, self._clock() - float(stored))
