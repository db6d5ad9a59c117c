"""Readiness: can this process take texts right now? Each check is cheap and names no secret.

`/readyz` runs every check on each call (a load balancer polls every few seconds) and names
each dependency's state: `ok`, or why not (`down`, `behind`, …). The instance is
- `ready` (200) when every check passes;
- `degraded` (200) when the only failures are covered: a check with `covered_by` fails while
  the check it names passes (the database is down, but the outage spool takes texts), or a
  check is `unknown` because the one it `depends_on` is down and covered;
- `not ready` (503) otherwise: it cannot take texts at all.
A failing check is logged with its name and the kind of error only, never a URL or password.

The outage spool (issue 29) slots in as one more check before the database's, e.g.
`ReadinessCheck("spool", probe)` whose probe returns `Passed(facts={"spool_depth": n})` or
raises `NotReady("unwritable")`, with `database_check(engine, covered_by="spool")` in
selfserve/wiring: a database that is down then gives `degraded` (200) with the depth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, inspect, text

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


def database_check(engine: Engine, covered_by: str | None = None) -> ReadinessCheck:
    """The database answers a trivial query (its schema is the migrations check's)."""

    def probe() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return ReadinessCheck("database", probe, covered_by=covered_by)


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
