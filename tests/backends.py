"""Which real servers a test run uses, and the hooks that say so.

Every test that takes `database_url` runs on SQLite, and again on PostgreSQL when
TEST_DATABASE_URL is set; queue tests run embedded, and again on Redis when TEST_REDIS_URL is
set (`.ci/run` sets both, and CI=true makes them required). Without a URL, a test that needs
that server is not collected at all: the run ends with one line saying how many were left
out, never with skips. tests/conftest.py imports the hooks from here (pytest finds hooks by
name in a conftest's namespace).
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from selfserve.models import Base
from selfserve.ops import build_engine, migrate

# pytest-xdist (`make test` runs `pytest -n auto`) runs the suite in worker processes gw0, gw1, …
# at the same time. Each worker gets a PostgreSQL database and a Redis database of its own,
# because tests drop the schema, TRUNCATE every table and FLUSHDB: see `worker_database_url`
# and `worker_redis_url`. A plain `pytest` run (no worker) uses the two URLs exactly as given.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
REDIS_DATABASES = 16  # a Redis server's default `databases`: numbers 0-15


def worker_index(worker: str = XDIST_WORKER) -> int | None:
    """This xdist worker's number (gw3 -> 3), or None outside xdist."""
    return int(worker.removeprefix("gw")) if worker else None


def worker_database_url(url: str, worker: str = XDIST_WORKER) -> str:
    """The worker's own PostgreSQL database: `<base>_gw0`, `<base>_gw1`, …; else `url` itself.

    conftest creates it on first use (see `_create_worker_database`); the role needs CREATEDB.
    """
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


def worker_redis_url(url: str, worker: str = XDIST_WORKER) -> str:
    """The worker's own Redis database: the URL's number minus the worker's, modulo 16.

    With CI's base 15, gw0 uses 15, gw1 14, … gw15 0; with base 11, gw0 11, gw1 10, … and gw12
    wraps round to 15. Sixteen workers at most, so no two workers of one run share a database.
    """
    index = worker_index(worker)
    if not url or index is None:
        return url
    if index >= REDIS_DATABASES:
        raise pytest.UsageError(
            f"xdist worker {worker}: Redis has only {REDIS_DATABASES} databases, one per worker;"
            f" run with -n {REDIS_DATABASES} or fewer"
        )
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base - index) % REDIS_DATABASES}"))


@pytest.hookimpl(optionalhook=True, wrapper=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> Generator[None, int, int]:
    """`-n auto` starts one worker per CPU, but never more than Redis has databases."""
    count = yield
    return min(count, REDIS_DATABASES)


BASE_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_DATABASE_URL = worker_database_url(BASE_DATABASE_URL)
TEST_REDIS_URL = worker_redis_url(os.environ.get("TEST_REDIS_URL", ""))
# No silent holes: on CI (CI=true) the PostgreSQL and Redis variants are always collected, and
# each FAILS at set-up when its URL is missing (see pytest_runtest_setup), instead of
# vanishing from the run. Elsewhere they run only when the URL is set.
CI = os.environ.get("CI", "").strip().lower() == "true"
WITH_POSTGRES = bool(TEST_DATABASE_URL) or CI
WITH_REDIS = bool(TEST_REDIS_URL) or CI
DATABASES = ["sqlite"] + (["postgresql"] if WITH_POSTGRES else [])
QUEUE_BACKENDS = ["embedded"] + (["redis"] if WITH_REDIS else [])


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say loudly which real services this run uses."""
    lines = [
        f"PostgreSQL: {'yes' if TEST_DATABASE_URL else 'NO (TEST_DATABASE_URL unset)'}; "
        f"Redis: {'yes' if TEST_REDIS_URL else 'NO (TEST_REDIS_URL unset)'}"
    ]
    if config.pluginmanager.hasplugin("xdist") and config.getoption("numprocesses", None):
        lines.append(
            "xdist: worker gwN uses PostgreSQL database <base>_gwN and Redis database "
            "(base - N) mod 16"
        )
    return lines


def pytest_configure(config: pytest.Config) -> None:
    """Markers for tests that need a real server (added to parametrized variants on collection)."""
    config.addinivalue_line("markers", "needs_postgresql: runs against TEST_DATABASE_URL")
    config.addinivalue_line("markers", "needs_redis: runs against TEST_REDIS_URL")


def backends_of(item: pytest.Item) -> set[str]:
    """The real backends a collected test runs on: from its parameters (`postgresql`,
    `redis`, a redis:// URL, or a (database, queue) pair) and its needs_* markers."""
    found: set[str] = set()
    callspec = getattr(item, "callspec", None)
    for value in callspec.params.values() if callspec else ():
        for part in value if isinstance(value, tuple) else (value,):
            if not isinstance(part, str):
                continue
            if part == "postgresql" or part.startswith("postgresql"):
                found.add("postgresql")
            elif part == "sqlite":
                found.add("sqlite")
            elif part == "redis" or part.startswith("redis://"):
                found.add("redis")
    for backend in ("postgresql", "redis"):
        if item.get_closest_marker(f"needs_{backend}"):
            found.add(backend)
    if "database_url" in getattr(item, "fixturenames", ()) and "postgresql" not in found:
        found.add("sqlite")
    return found


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every PostgreSQL or Redis variant and note its backends for the summary; leave out
    (not skip) what cannot run here: a variant whose server's URL is missing (never on CI,
    where it must run), and a parametrization that came out empty."""
    available = {"postgresql": WITH_POSTGRES, "redis": WITH_REDIS}
    kept = []
    for item in items:
        backends = backends_of(item)
        for backend in backends - {"sqlite"}:
            item.add_marker(getattr(pytest.mark, f"needs_{backend}"))
        item.user_properties.append(("backends", ",".join(sorted(backends))))
        missing = [backend for backend in backends - {"sqlite"} if not available[backend]]
        if not missing and not is_an_empty_parameter_set(item):
            kept.append(item)
    items[:] = kept


def is_an_empty_parameter_set(item: pytest.Item) -> bool:
    """pytest turns `parametrize(..., [])` into one test that skips: it has nothing to run."""
    skip = item.get_closest_marker("skip")
    return skip is not None and str(skip.kwargs.get("reason", "")).startswith(
        "got empty parameter set"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that needs a server whose URL is missing fails (collected so only on CI)."""
    for backend, url, variable in (
        ("postgresql", TEST_DATABASE_URL, "TEST_DATABASE_URL"),
        ("redis", TEST_REDIS_URL, "TEST_REDIS_URL"),
    ):
        if item.get_closest_marker(f"needs_{backend}") and not url:
            pytest.fail(f"CI=true and this test needs {backend}, but {variable} is not set")


# Tests run per backend in this process (under pytest-xdist: the controller, which gets every
# worker's reports).
BACKEND_COUNTS = {"sqlite": 0, "postgresql": 0, "redis": 0}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count each test that ran (or failed setting up) once per backend it used; under
    pytest-xdist the reports, with their user_properties, reach the controlling process."""
    if not (report.when == "call" or (report.when == "setup" and report.failed)):
        return
    for name, value in report.user_properties:
        if name == "backends" and value:
            for backend in value.split(","):
                BACKEND_COUNTS[backend] += 1


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """How many tests ran against each backend (a missing one shows as 0, not as nothing),
    and, once, what was not collected for want of a server."""
    if config.getoption("collectonly", False):
        return
    terminalreporter.write_sep("-", "tests run per backend")
    terminalreporter.write_line(
        ", ".join(f"{backend}: {count}" for backend, count in BACKEND_COUNTS.items())
        + ("" if not CI else " (CI=true: PostgreSQL and Redis variants are required)")
    )
    unset = [
        name
        for name, url in (
            ("TEST_DATABASE_URL", TEST_DATABASE_URL),
            ("TEST_REDIS_URL", TEST_REDIS_URL),
        )
        if not url
    ]
    if unset and not CI:
        terminalreporter.write_line(
            f"not collected: the PostgreSQL/Redis variants ({' and '.join(unset)} unset;"
            " `.ci/run` runs them)"
        )


_postgres_migrated = False


def _create_worker_database() -> None:
    """Create this xdist worker's database, unless it is there from an earlier run."""
    name = make_url(TEST_DATABASE_URL).database
    engine = create_engine(BASE_DATABASE_URL, isolation_level="AUTOCOMMIT")
    exists = text("SELECT 1 FROM pg_database WHERE datname = :name")
    with engine.connect() as connection:
        if connection.execute(exists, {"name": name}).first() is None:
            quoted = connection.dialect.identifier_preparer.quote(name)
            try:
                connection.execute(text(f"CREATE DATABASE {quoted}"))
            except DBAPIError:  # another run on the same base created it meanwhile
                if connection.execute(exists, {"name": name}).first() is None:
                    raise
    engine.dispose()


def _fresh_postgres() -> str:
    global _postgres_migrated
    if not _postgres_migrated and TEST_DATABASE_URL != BASE_DATABASE_URL:
        _create_worker_database()
    engine = build_engine(TEST_DATABASE_URL)
    if not _postgres_migrated:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        migrate.upgrade(engine)
        _postgres_migrated = True
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return TEST_DATABASE_URL
