"""Readiness: can this process take texts right now? Each check is cheap and names no secret.

`/readyz` runs every check on each call (a load balancer polls every few seconds) and names
each dependency's state: `ok`, or why not (`down`, `behind`, …). The instance is
- `ready` (200) when every check passes;
- `degraded` (200) when the only failures are covered: a check with `covered_by` fails while
  the check it names passes (the database is down, but the outage spool takes texts), or a
  check is `unknown` because the one it `depends_on` is down and covered;
- `not ready` (503) otherwise: it cannot take texts at all.
A failing check is logged with its name and the kind of error only, never a URL or password.

The outage spool is one more check before the database's (`spool_check`: its probe reports
`spool_depth` and raises `NotReady("unwritable")`), with `database_check(engine,
covered_by="spool")` in selfserve/wiring: a database that is down gives `degraded` (200)
with the depth, since the spool answers every text meanwhile.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

from selfserve.ops.resilience import within

log = logging.getLogger(__name__)

OK = "ok"
DOWN = "down"
AHEAD = "ahead"  # the schema is newer than this code: usable during a rolling deploy
UNKNOWN = "unknown"  # not checked: a dependency it needs is down


class NotReady(Exception):
    """A probe's failure with a state of its own (`behind`, `unwritable`), instead of `down`."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


@dataclass(frozen=True)
class Passed:
    """A probe's success: its state (`ok`, or e.g. `ahead`) and facts to report (`depth`)."""

    state: str = OK
    facts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadinessCheck:
    """One dependency: `probe` returns (None or Passed) when usable and raises when not.

    `covered_by` names a check whose success lets the instance work on without this one
    (degraded); `depends_on` names a check that must pass before this one can be probed.
    """

    name: str
    probe: Callable[[], Passed | None]
    covered_by: str | None = None
    depends_on: str | None = None


@dataclass(frozen=True)
class Readiness:
    """The answer of /readyz: overall status, each check's state, and reported facts."""

    status: str
    checks: dict[str, str]
    facts: dict[str, int]

    @property
    def http_status(self) -> int:
        """200 while texts can be taken (ready or degraded), else 503."""
        return 503 if self.status == "not ready" else 200


def _probe(check: ReadinessCheck) -> tuple[bool, str, Mapping[str, int]]:
    """(passed, state, facts) of one check."""
    try:
        passed = check.probe() or Passed()
    except NotReady as failure:
        return False, failure.state, {}
    except Exception as error:  # noqa: BLE001 - any failure means "not usable"
        log.warning(
            "readiness_check_failed", extra={"check": check.name, "error": type(error).__name__}
        )
        return False, DOWN, {}
    return True, passed.state, passed.facts


def assess(checks: Sequence[ReadinessCheck]) -> Readiness:
    """Run every check in order (a `depends_on` check must come after the one it names) and
    judge the instance: ready, degraded or not ready."""
    states: dict[str, str] = {}
    facts: dict[str, int] = {}
    passed: set[str] = set()
    failing: list[ReadinessCheck] = []
    for check in checks:
        if check.depends_on and check.depends_on not in passed:
            states[check.name] = UNKNOWN
            continue
        usable, states[check.name], found = _probe(check)
        facts.update(found)
        if usable:
            passed.add(check.name)
        else:
            failing.append(check)
    covered = [check for check in failing if check.covered_by in passed]
    if len(covered) < len(failing):
        status = "not ready"
    elif covered or UNKNOWN in states.values():
        status = "degraded"
    else:
        status = "ready"
    return Readiness(status, states, facts)


def database_check(
    engine: Engine, covered_by: str | None = None, timeout_seconds: float = 2.0
) -> ReadinessCheck:
    """The database answers a trivial query (its schema is the migrations check's), within
    `timeout_seconds` under gevent: a frozen server is `down`, not an endless /readyz."""

    def probe() -> None:
        with within(timeout_seconds), engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return ReadinessCheck("database", probe, covered_by=covered_by)


def spool_check(folder: Path, depth: Callable[[], tuple[int, float | None]]) -> ReadinessCheck:
    """The outage spool's folder takes a file (texts are held there while the database is
    away: texts/spooled.py); reports `spool_depth` and `spool_oldest_age_seconds`."""

    def probe() -> Passed:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
                pass
        except OSError:
            raise NotReady("unwritable") from None
        count, oldest = depth()
        age = max(0, round(time.time() - oldest)) if oldest is not None else 0
        return Passed(facts={"spool_depth": count, "spool_oldest_age_seconds": age})

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


def migrations_check(
    engine: Engine, head: str, known: Collection[str], older: Collection[str] = ()
) -> ReadinessCheck:
    """The schema is at the code's head revision.

    `behind` (503) when it is at an earlier revision of `known`, a pre-baseline one (`older`)
    or has no schema at all: `flask --app app db upgrade` has not run. `ahead` (still usable)
    when the revision is one this code does not know: during a deploy the schema may be one
    release ahead of this process, which must stay ready meanwhile.
    """

    def probe() -> Passed:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                raise NotReady("behind")
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if version == head:
            return Passed()
        if version is None or version in known or version in older:
            raise NotReady("behind")
        return Passed(AHEAD)

    return ReadinessCheck("migrations", probe, depends_on="database")


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
