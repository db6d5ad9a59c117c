"""/readyz: each dependency's state, and ready / degraded / not ready from them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text

from app import create_app
from selfserve.ops import NotReady, Passed, ReadinessCheck, assess, build_engine, migrate


def _passes() -> None:
    return None


def _down() -> None:
    raise ConnectionRefusedError("127.0.0.1:5432")


def _behind() -> None:
    raise NotReady("behind")


def _spool_with(depth: int) -> Passed:
    return Passed(facts={"spool_depth": depth})


@pytest.mark.parametrize(
    ("checks", "status", "states"),
    [
        (
            [ReadinessCheck("database", _passes), ReadinessCheck("queue", _passes)],
            "ready",
            {"database": "ok", "queue": "ok"},
        ),
        (
            [ReadinessCheck("database", _down), ReadinessCheck("queue", _passes)],
            "not ready",
            {"database": "down", "queue": "ok"},
        ),
        (  # the outage spool takes texts while the database is down
            [
                ReadinessCheck("spool", lambda: _spool_with(3)),
                ReadinessCheck("database", _down, covered_by="spool"),
                ReadinessCheck("migrations", _passes, depends_on="database"),
            ],
            "degraded",
            {"spool": "ok", "database": "down", "migrations": "unknown"},
        ),
        (  # ... but not when the spool cannot be written either
            [
                ReadinessCheck("spool", lambda: (_ for _ in ()).throw(NotReady("unwritable"))),
                ReadinessCheck("database", _down, covered_by="spool"),
                ReadinessCheck("migrations", _passes, depends_on="database"),
            ],
            "not ready",
            {"spool": "unwritable", "database": "down", "migrations": "unknown"},
        ),
        (  # a schema behind the code is never covered
            [
                ReadinessCheck("spool", lambda: _spool_with(0)),
                ReadinessCheck("database", _passes, covered_by="spool"),
                ReadinessCheck("migrations", _behind, depends_on="database"),
            ],
            "not ready",
            {"spool": "ok", "database": "ok", "migrations": "behind"},
        ),
        (
            [ReadinessCheck("migrations", lambda: Passed("ahead"))],
            "ready",
            {"migrations": "ahead"},
        ),
        (  # a passing probe may name its state: it still passes
            [
                ReadinessCheck("spool", lambda: Passed("draining")),
                ReadinessCheck("database", _passes, covered_by="spool"),
            ],
            "ready",
            {"spool": "draining", "database": "ok"},
        ),
    ],
)
def test_the_status_follows_from_each_checks_state(checks, status, states):
    readiness = assess(checks)
    assert (readiness.status, readiness.checks) == (status, states)
    assert readiness.http_status == (503 if status == "not ready" else 200)


def test_facts_a_check_reports_are_kept():
    readiness = assess([ReadinessCheck("spool", lambda: _spool_with(7))])
    assert readiness.facts == {"spool_depth": 7}


def _readyz(settings, database_url: str) -> tuple[int, dict]:
    application = create_app(replace(settings, database_url=database_url))
    try:
        response = application.test_client().get("/readyz")
    finally:
        application.extensions["selfserve"].close()
    return response.status_code, response.json


def _stamp(database_url: str, revision: str) -> None:
    engine = build_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_schema_at_a_pre_baseline_revision_is_behind(settings, database_url):
    _stamp(database_url, "0015_owed_referrals")
    status, answer = _readyz(settings, database_url)
    assert (status, answer["status"], answer["checks"]["migrations"]) == (
        503,
        "not ready",
        "behind",
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_schema_newer_than_the_code_stays_ready_during_a_deploy(settings, database_url):
    _stamp(database_url, "0099_from_the_next_release")
    status, answer = _readyz(settings, database_url)
    assert (status, answer["status"], answer["checks"]["migrations"]) == (200, "ready", "ahead")


def test_a_schema_at_head_is_ok_on_each_database(settings, database_url):
    engine = build_engine(database_url)
    assert migrate.stamped_revision(engine) == migrate.head_revision()
    engine.dispose()
    status, answer = _readyz(settings, database_url)
    assert (status, answer["checks"]["migrations"]) == (200, "ok")
