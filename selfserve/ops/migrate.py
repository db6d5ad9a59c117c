"""Alembic, driven from the app: the `db` commands and the test fixtures use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to `engine` and this project's migrations folder."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database schema down to `revision`."""
    command.downgrade(alembic_config(engine), revision)


def check(engine: Engine) -> None:
    """Raise if the models have changes that no revision describes."""
    command.check(alembic_config(engine))


def new_revision(engine: Engine, message: str) -> None:
    """Write a new revision comparing the models with the database."""
    command.revision(alembic_config(engine), message=message, autogenerate=True)
