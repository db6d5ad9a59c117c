"""The schema comes from Alembic: an empty database upgrades to head and matches the models."""

from __future__ import annotations

from sqlalchemy import inspect

from selfserve.models import Base
from selfserve.ops import build_engine, migrate


def test_an_empty_database_upgrades_to_head_and_matches_the_models(tmp_path):
    engine = build_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    migrate.upgrade(engine)
    migrate.check(engine)  # raises when models and revisions disagree
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_the_migrations_go_down_and_up_again(tmp_path):
    engine = build_engine(f"sqlite:///{tmp_path / 'cycle.db'}")
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert "campaigns" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert "campaigns" in inspect(engine).get_table_names()
    engine.dispose()


def test_the_database_fixture_matches_the_models(database_url):
    engine = build_engine(database_url)
    migrate.check(engine)
    engine.dispose()
