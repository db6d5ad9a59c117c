"""Readiness: can this process serve texts right now? Each check is cheap and names no secret.

`/readyz` runs every check on each call (a load balancer polls every few seconds); a check
that fails is logged with its name and the kind of error only, never a URL or password.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from selfserve.ops.resilience import is_database_unavailable, within

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadinessCheck:
    """One dependency: `probe` returns when it is reachable and raises when it is not."""

    name: str
    probe: Callable[[], None]


def database_check(engine: Engine, timeout_seconds: float = 2.0) -> ReadinessCheck:
    """The database answers, and has a schema (`flask --app app db upgrade` has run).

    Any migrated version counts: during a deploy the schema may be one release ahead of
    this process, which must stay ready meanwhile.
    """

    def probe() -> None:
        with within(timeout_seconds), engine.connect() as connection:  # a frozen server too
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


def spool_check(folder: Path) -> ReadinessCheck:
    """The spool's folder takes a file (texts are held there while the database is away)."""

    def probe() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass

    return ReadinessCheck("spool", probe)


def database_answers(engine: Engine, timeout_seconds: float) -> Callable[[], bool]:
    """A probe for the spool's drainer: True when the database answers SELECT 1 in time."""

    def probe() -> bool:
        try:
            with within(timeout_seconds), engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means "not yet"
            return False
        return True

    return probe


def readiness_status(
    results: dict[str, bool], errors: dict[str, BaseException] | None = None
) -> tuple[str, int]:
    """("ready", 200); ("degraded", 200) when only the database is unreachable and the spool
    takes texts (load balancers keep the host: it still answers every text); else
    ("not ready", 503), as for a database without its schema."""
    failing = {name for name, passed in results.items() if not passed}
    if not failing:
        return "ready", 200
    error = (errors or {}).get("database")
    if failing == {"database"} and results.get("spool") and is_database_unavailable(error):
        return "degraded", 200
    return "not ready", 503


def run_checks(
    checks: Iterable[ReadinessCheck], errors: dict[str, BaseException] | None = None
) -> dict[str, bool]:
    """Run every check; {name: passed}. `errors`, when given, gets each failure's error."""
    results: dict[str, bool] = {}
    for check in checks:
        try:
            check.probe()
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            log.warning(
                "readiness_check_failed", extra={"check": check.name, "error": type(error).__name__}
            )
            results[check.name] = False
            if errors is not None:
                errors[check.name] = error
        else:
            results[check.name] = True
    return results
