"""Fixtures for the slow end-to-end queue tests: each backend once, not every combination.

Importing `combo`, `database_url` and `queue_settings` from here into a test module runs its
tests on SQLite with the embedded queue and budget, and once more on PostgreSQL with Redis
(whichever of the two the run has), instead of all four pairs.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from selfserve.ops import Settings
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, _fresh_postgres

COMBOS = [("sqlite", "embedded")]
if TEST_DATABASE_URL or TEST_REDIS_URL:
    COMBOS.append(
        ("postgresql" if TEST_DATABASE_URL else "sqlite", "redis" if TEST_REDIS_URL else "embedded")
    )


@pytest.fixture(params=COMBOS, ids=["-".join(combo) for combo in COMBOS])
def combo(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(database, queue backend) for this run of the test."""
    return request.param


@pytest.fixture
def database_url(combo: tuple[str, str], tmp_path: Path, sqlite_template: Path) -> str:
    """The combination's database, at the latest migration and empty."""
    if combo[0] == "postgresql":
        return _fresh_postgres()
    path = tmp_path / "selfserve.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def queue_settings(combo: tuple[str, str], settings: Settings) -> Settings:
    """The combination's queue and budget: SQLite files, or Redis (flushed first)."""
    if combo[1] != "redis":
        return settings
    import redis

    with redis.Redis.from_url(TEST_REDIS_URL) as connection:
        connection.flushdb()
    return replace(settings, redis_url=TEST_REDIS_URL)
