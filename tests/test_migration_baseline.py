"""The baseline revision builds exactly the schema the sixteen pre-1.0 revisions built, and a
database stamped with any of those revisions is carried onto the baseline by `db upgrade`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, make_url, text

from app import create_app
from selfserve.ops import build_engine, migrate
from tests.backends import (
    BASE_DATABASE_URL,
    DATABASES,
    TEST_DATABASE_URL,
    _create_worker_database,
)
from tests.schema_dump import differences, schema_of

SCHEMA = "baseline_check"


def _scratch_postgres() -> str:
    """A schema of this test's own in the worker's database (the shared schema keeps its
    migrated tables); a schema, not a database: DROP DATABASE waits for a checkpoint."""
    if TEST_DATABASE_URL != BASE_DATABASE_URL:
        _create_worker_database()
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    admin.dispose()
    url = make_url(TEST_DATABASE_URL).update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=DATABASES)
def empty_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """An empty database: SQLite, then PostgreSQL when the run has one."""
    if request.param == "postgresql":
        url = _scratch_postgres()
    else:
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = build_engine(url)
    yield engine
    engine.dispose()


def _wipe(engine: Engine) -> None:
    migrate.downgrade(engine, "base")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))


def _legacy_upgrade(engine: Engine, revision: str = migrate.LEGACY_HEAD) -> None:
    command.upgrade(migrate.alembic_config(engine, migrate.LEGACY), revision)


def test_the_baseline_builds_the_schema_the_old_chain_built(empty_engine):
    _legacy_upgrade(empty_engine)
    old_chain = schema_of(empty_engine)
    command.downgrade(migrate.alembic_config(empty_engine, migrate.LEGACY), "base")
    with empty_engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    assert schema_of(empty_engine) == {}

    migrate.upgrade(empty_engine, migrate.BASELINE)

    assert migrate.stamped_revision(empty_engine) == migrate.BASELINE
    assert len(old_chain) >= 27
    assert differences(old_chain, schema_of(empty_engine)) == []


def test_a_database_at_the_old_head_is_restamped_and_keeps_its_rows(empty_engine):
    _legacy_upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO campaigns (slug, name, action, active, definition, updated_at)"
                " VALUES ('spring', 'Spring', 'coupon', true, '{}', '2026-12-01 10:00:00+00:00')"
            )
        )

    carried_from = migrate.upgrade(empty_engine)

    assert carried_from == "0016_deferred_by_customer"
    assert migrate.stamped_revision(empty_engine) == migrate.head_revision()
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT slug FROM campaigns")).scalars().all() == ["spring"]
    migrate.check(empty_engine)  # the models agree with what the old chain built
    assert migrate.upgrade(empty_engine) is None  # the second time there is nothing to carry


def test_a_database_at_an_older_revision_finishes_the_old_chain_first(empty_engine):
    migrate.upgrade(empty_engine)
    expected = schema_of(empty_engine)
    _wipe(empty_engine)
    _legacy_upgrade(empty_engine, "0010_abuse")  # in the middle of the old chain

    assert migrate.upgrade(empty_engine) == "0010_abuse"

    assert migrate.stamped_revision(empty_engine) == migrate.head_revision()
    assert differences(expected, schema_of(empty_engine)) == []


def test_an_empty_database_and_a_current_one_are_not_restamped(empty_engine):
    assert migrate.carry_over_legacy(empty_engine) is None
    migrate.upgrade(empty_engine, migrate.BASELINE)
    assert migrate.carry_over_legacy(empty_engine) is None
    assert migrate.stamped_revision(empty_engine) == migrate.BASELINE


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the command's words only
def test_db_upgrade_says_when_it_restamped_an_old_database(tmp_path, settings):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = build_engine(url)
    _legacy_upgrade(engine)
    engine.dispose()
    app = create_app(replace(settings, database_url=url))

    result = app.test_cli_runner().invoke(args=["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert "restamped 0016_deferred_by_customer (before the baseline) as 0001_baseline" in (
        result.output
    )
    app.extensions["selfserve"].close()
