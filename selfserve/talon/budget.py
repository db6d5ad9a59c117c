"""The Talon.One budget: at most N calls in ANY window of 60 seconds, over every process.

Talon.One asks CEP callers to stay at or under 500 coupon requests a minute. Each call spends
one unit first (`try_spend`); with none left the caller defers instead of waiting. Two stores,
one contract:

- `RedisBudget` (REDIS_URL set, any number of hosts): the `limits` library's moving-window
  strategy on Redis, an atomic Lua script over a list of timestamps.
- `SqliteBudget` (embedded, one host): `limits` has no storage that separate processes on one
  host can share besides Redis (memory is per process), so this is a small moving window in
  its own SQLite file in the instance folder. `BEGIN IMMEDIATE` makes count-then-insert atomic
  across the web and worker processes; the clock is CLOCK_MONOTONIC, which every process on
  the host shares and which never steps back when the wall clock is corrected.

Both count a window a little longer than the configured one (`MARGIN_SECONDS`): a call is
counted when it leaves and reaches Talon.One a moment later, so without the margin two calls
counted 60.0 s apart could arrive 59.9 s apart.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from selfserve.ops import redis_client, redis_pool

MARGIN_SECONDS = 1.0
LONGEST_HOLD_SECONDS = 600.0  # a Retry-After longer than this is read as this
LOCK_WAIT_SECONDS = 2.0  # the webhook never waits longer than this for the budget's lock
BUDGET_KEY = "talon"

log = logging.getLogger(__name__)


class TalonBudget(Protocol):
    """A shared allowance of Talon.One calls."""

    def try_spend(self) -> bool:
        """Spend one call if the window allows it now; never waits."""
        ...

    def seconds_until_free(self) -> float:
        """How long until `try_spend` can succeed again (0 when it can now)."""
        ...

    def hold(self, seconds: float) -> None:
        """Spend nothing for `seconds` (Talon.One answered 429 with Retry-After)."""
        ...

    def spent_in_window(self) -> int:
        """Calls counted in the current window (a warm-up keeps below its share of it)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class SqliteBudget:
    """A moving window in a SQLite file shared by every process on this host."""

    def __init__(
        self,
        path: Path,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.limit = limit
        self.window_seconds = window_seconds + MARGIN_SECONDS
        self._clock = clock
        self._lock = threading.Lock()  # one connection per process, used by one thread at a time
        self._path = path
        self._pid = 0
        self._connection: sqlite3.Connection | None = None
        self._create_tables()

    @property
    def _db(self) -> sqlite3.Connection:
        # A connection must not cross a fork (gunicorn --preload builds the app before forking
        # its workers): each process opens its own.
        if self._connection is None or self._pid != os.getpid():
            self._connection = sqlite3.connect(
                str(self._path),
                timeout=LOCK_WAIT_SECONDS,
                isolation_level=None,
                check_same_thread=False,
            )
            self._pid = os.getpid()
        return self._connection

    def _create_tables(self) -> None:
        # The web server and the worker start together (`make run`): whoever comes second may
        # find the file locked while the first switches it to WAL, so keep trying briefly.
        deadline = time.monotonic() + 15
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute("CREATE TABLE IF NOT EXISTS spent (at REAL NOT NULL)")
                self._db.execute("CREATE INDEX IF NOT EXISTS spent_at ON spent (at)")
                self._db.execute("CREATE TABLE IF NOT EXISTS hold (until REAL NOT NULL)")
                self._create_tally()
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _create_tally(self) -> None:
        """`tally` holds how many rows `spent` has: counting them on every call cost O(rows),
        and with the budget raised for a stadium a window holds tens of thousands."""
        self._db.execute("CREATE TABLE IF NOT EXISTS tally (n INTEGER NOT NULL)")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if self._db.execute("SELECT count(*) FROM tally").fetchone()[0] == 0:
                self._db.execute("INSERT INTO tally (n) SELECT count(*) FROM spent")
        finally:
            self._db.execute("COMMIT")

    def try_spend(self) -> bool:
        """Spend one call if fewer than `limit` were spent in the last window.

        A lock held too long by another process counts as "no budget now": the caller defers.
        """
        with self._lock:
            now = self._clock()
            try:
                self._db.execute("BEGIN IMMEDIATE")  # the write lock, across processes
            except sqlite3.OperationalError as error:
                log.warning("talon_budget_busy", extra={"error": str(error)})
                return False
            try:
                self._forget(now)
                if self._held_until(now) > now or self._count() >= self.limit:
                    return False
                self._db.execute("INSERT INTO spent (at) VALUES (?)", (now,))
                self._db.execute("UPDATE tally SET n = n + 1")
                return True
            finally:
                self._db.execute("COMMIT")

    def seconds_until_free(self) -> float:
        """Seconds until the oldest call in a full window leaves it, or a hold ends."""
        with self._lock:
            now = self._clock()
            wait = max(self._held_until(now) - now, 0.0)
            row = self._db.execute(
                "SELECT at FROM spent WHERE at > ? AND at <= ? ORDER BY at DESC LIMIT 1 OFFSET ?",
                (now - self.window_seconds, now + 1, self.limit - 1),
            ).fetchone()
            if row is not None:
                wait = max(wait, row[0] + self.window_seconds - now)
            return wait

    def hold(self, seconds: float) -> None:
        """Spend nothing until `seconds` from now."""
        with self._lock:
            now = self._clock()
            until = now + min(seconds, LONGEST_HOLD_SECONDS)
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                log.warning("talon_budget_busy", extra={"error": str(error)})
                return
            try:
                if self._held_until(now) < until:
                    self._db.execute("DELETE FROM hold")
                    self._db.execute("INSERT INTO hold (until) VALUES (?)", (until,))
            finally:
                self._db.execute("COMMIT")

    def spent_in_window(self) -> int:
        """Calls counted in the current window (for tests and the console)."""
        with self._lock:
            now = self._clock()
            return self._db.execute(
                "SELECT count(*) FROM spent WHERE at > ? AND at <= ?",
                (now - self.window_seconds, now + 1),
            ).fetchone()[0]

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None

    def _forget(self, now: float) -> None:
        # A time later than now can only come from before a reboot (CLOCK_MONOTONIC restarts
        # at boot): such rows are forgotten too, or they would block the budget for days.
        forgotten = self._db.execute(
            "DELETE FROM spent WHERE at <= ? OR at > ?", (now - self.window_seconds, now + 1)
        ).rowcount
        if forgotten > 0:
            self._db.execute("UPDATE tally SET n = max(n - ?, 0)", (forgotten,))

    def _count(self) -> int:
        return self._db.execute("SELECT n FROM tally").fetchone()[0]

    def _held_until(self, now: float) -> float:
        # A hold further away than the longest one we set is from before a reboot: ignored.
        row = self._db.execute(
            "SELECT max(until) FROM hold WHERE until <= ?", (now + LONGEST_HOLD_SECONDS,)
        )
        value = row.fetchone()[0]
        return float(value) if value is not None else 0.0


class RedisBudget:
    """The `limits` moving window on Redis, shared by every process on every host."""

    def __init__(self, redis_url: str, limit: int, window_seconds: float) -> None:
        from limits import RateLimitItemPerSecond
        from limits.storage import RedisStorage
        from limits.strategies import MovingWindowRateLimiter

        self.limit = limit
        # `limits` counts whole seconds: round the window (with its margin) up, never down.
        self.window_seconds = float(math.ceil(window_seconds + MARGIN_SECONDS))
        self._storage = RedisStorage(redis_url, connection_pool=redis_pool(redis_url))
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._item = RateLimitItemPerSecond(limit, int(self.window_seconds), namespace="selfserve")
        self._redis = redis_client(redis_url)
        self._hold_key = "selfserve:talon-budget-hold"

    def try_spend(self) -> bool:
        """Spend one call unless the window is full or Talon.One asked us to hold off.

        Redis out of reach counts as "no budget now": the caller defers, nothing is lost.
        """
        import redis

        try:
            if self._redis.exists(self._hold_key):
                return False
            return bool(self._limiter.hit(self._item, BUDGET_KEY))
        except redis.RedisError as error:
            log.warning("talon_budget_unreachable", extra={"error": type(error).__name__})
            return False

    def seconds_until_free(self) -> float:
        """Seconds until the oldest call in a full window leaves it, or a hold ends."""
        import redis

        try:
            hold_ms = self._redis.pttl(self._hold_key)
            wait = max(hold_ms, 0) / 1000.0
            stats = self._limiter.get_window_stats(self._item, BUDGET_KEY)
        except redis.RedisError:
            return 1.0  # unknown while Redis is away: look again soon
        if stats.remaining <= 0:
            wait = max(wait, stats.reset_time - time.time())
        return max(wait, 0.0)

    def hold(self, seconds: float) -> None:
        """Spend nothing for `seconds`, on every host (a longer hold already set wins)."""
        import redis

        milliseconds = max(int(min(seconds, LONGEST_HOLD_SECONDS) * 1000), 1)
        try:
            if self._redis.pttl(self._hold_key) < milliseconds:
                self._redis.set(self._hold_key, "1", px=milliseconds)
        except redis.RedisError as error:
            log.warning("talon_budget_unreachable", extra={"error": type(error).__name__})

    def spent_in_window(self) -> int:
        """Calls counted in the current window (the whole limit while Redis is away)."""
        import redis

        try:
            stats = self._limiter.get_window_stats(self._item, BUDGET_KEY)
        except redis.RedisError as error:
            log.warning("talon_budget_unreachable", extra={"error": type(error).__name__})
            return self.limit
        return self.limit - stats.remaining

    def close(self) -> None:
        """Release the Redis connections."""
        self._redis.close()


def build_budget(
    redis_url: str, budget_path: Path, limit_per_window: int, window_seconds: float
) -> SqliteBudget | RedisBudget:
    """The budget the settings call for: Redis when REDIS_URL is set, else the host's SQLite."""
    if redis_url:
        return RedisBudget(redis_url, limit_per_window, window_seconds)
    return SqliteBudget(budget_path, limit_per_window, window_seconds)
