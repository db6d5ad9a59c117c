"""Readiness: can this process serve texts right now? Each check is cheap and names no secret.

`/readyz` runs every check on each call (a load balancer polls every few seconds); a check
that fails is logged with its name and the kind of error only, never a URL or password.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadinessCheck:
    """One dependency: `probe` returns when it is reachable and raises when it is not."""

    name: str
    probe: Callable[[], None]


def database_check(engine: Engine) -> ReadinessCheck:
    """The database answers, and has a schema (`flask --app app db upgrade` has run).

    Any migrated version counts: during a deploy the schema may be one release ahead of
    this process, which must stay ready meanwhile.
    """

    def probe() -> None:
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            if version.first() is None:
                raise LookupError("the database has no schema version")

    return ReadinessCheck("database", probe)


def redis_check(url: str) -> ReadinessCheck:
    """Redis answers PING (shared throttles, and the queue and budget once they use it)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1.0)  # connecting too (redis-py)

    def probe() -> None:
        client.ping()

    return ReadinessCheck("redis", probe)


def queue_check(huey: Any) -> ReadinessCheck:
    """The task queue's storage answers (Redis with REDIS_URL, else its SQLite file)."""

    def probe() -> None:
        huey.pending_count()

    return ReadinessCheck("queue", probe)


def run_checks(checks: Iterable[ReadinessCheck]) -> dict[str, bool]:
    """Run every check; {name: passed}."""
    results: dict[str, bool] = {}
    for check in checks:
        try:
            check.probe()
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            log.warning(
                "readiness_check_failed", extra={"check": check.name, "error": type(error).__name__}
            )
            results[check.name] = False
        else:
            results[check.name] = True
    return results
