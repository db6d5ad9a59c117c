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
from tests.conftest import TEST_REDIS_URL, WITH_POSTGRES, WITH_REDIS, _fresh_postgres

COMBOS = [("sqlite", "embedded")]
if WITH_POSTGRES or WITH_REDIS:  # on CI both, and each fails if its URL is missing
    COMBOS.append(
        ("postgresql" if WITH_POSTGRES else "sqlite", "redis" if WITH_REDIS else "embedded")
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
