"""Living through outages: Redis clients that retry, database failures named, a deadline.

- Redis (the queue, the Talon.One budget, the page throttles): every client retries a lost
  connection with exponential backoff, checks an idle connection's health before reusing it,
  and gives up within a couple of seconds instead of waiting for the kernel's TCP timeout.
- `is_database_unavailable(error)`: the errors that mean "the database is away, slow or
  refusing" (as opposed to a bug): the webhook spools the text on these.
- `within(seconds)`: under gevent (gunicorn.conf.py's default worker), a block that takes
  longer is interrupted with `DeadlineExceeded` (psycopg waits cooperatively there, so a
  database frozen by SIGSTOP holds one text, never the worker). Without gevent it is a no-op:
  threads rely on libpq's connect_timeout and the statement_timeout.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from typing import Any

from sqlalchemy import exc as sqlalchemy_errors

REDIS_TIMEOUT_SECONDS = 2.0
_SQLITE_MISTAKES = ("no such table", "no such column", "syntax error")


def redis_options() -> dict[str, Any]:
    """Connection options for every Redis client: retries with backoff, health checks."""
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return {
        # Two quick retries (40, 80 ms): a restart's blip is bridged, a dead Redis costs a
        # text 0.1 s per call, not seconds.
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2),
        "retry_on_error": [redis.ConnectionError, redis.TimeoutError],
        "health_check_interval": 10,
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_keepalive": True,
    }


def redis_pool(url: str, **extra: Any) -> Any:
    """A redis-py connection pool for `url` with `redis_options()`."""
    import redis

    return redis.ConnectionPool.from_url(url, **{**redis_options(), **extra})


def redis_client(url: str, **extra: Any) -> Any:
    """A redis-py client for `url` with `redis_options()`."""
    import redis

    return redis.Redis(connection_pool=redis_pool(url, **extra))


def _driver_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sqlite3.OperationalError]
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:
        errors += [psycopg.OperationalError, psycopg.InterfaceError]
    return tuple(errors)


def is_database_unavailable(error: BaseException | None) -> bool:
    """True when `error` means the database cannot answer now (down, refusing, too slow,
    locked), as opposed to a mistake in a statement."""
    if isinstance(error, DeadlineExceeded):
        return True
    if any(mistake in str(error) for mistake in _SQLITE_MISTAKES):
        return False  # SQLite names these OperationalError too
    if isinstance(
        error,
        sqlalchemy_errors.OperationalError
        | sqlalchemy_errors.InterfaceError
        | sqlalchemy_errors.TimeoutError
        | sqlalchemy_errors.DisconnectionError,
    ):
        return True
    if isinstance(error, sqlalchemy_errors.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _driver_errors())


class DeadlineExceeded(Exception):
    """A block guarded by `within` took longer than its deadline."""


def gevent_patched() -> bool:
    """True in a gevent worker (sockets and locks monkey-patched)."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("socket"))


def within(seconds: float) -> contextlib.AbstractContextManager[None]:
    """Interrupt the block after `seconds` under gevent (raising DeadlineExceeded)."""
    if not gevent_patched():
        return _NO_DEADLINE
    return _Deadline(seconds)


_NO_DEADLINE = contextlib.nullcontext()


class _Deadline:
    """A gevent timer around a block: a class, not a generator, since every text pays for
    it (a @contextmanager cost three times as much, bench scenario 1)."""

    __slots__ = ("_seconds", "_timer")

    def __init__(self, seconds: float) -> None:
        import gevent

        self._seconds = seconds
        self._timer = gevent.Timeout(seconds)

    def __enter__(self) -> None:
        self._timer.start()

    def __exit__(self, kind: Any, error: Any, _trace: Any) -> bool:
        self._timer.close()
        if error is not None and error is self._timer:
            raise DeadlineExceeded(f"took longer than {self._seconds} s") from None
        return False
