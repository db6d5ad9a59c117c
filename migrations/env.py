"""Alembic environment: runs against the engine selfserve hands over (or DATABASE_URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from selfserve.models import Base
from selfserve.ops import Settings, build_engine

config = context.config
target_metadata = Base.metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    return build_engine(Settings.from_environment().database_url)


def run_migrations_online() -> None:
    """Run migrations in one transaction per run, with SQLite-safe batch mode."""
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            # New revisions name our column types as the old ones do (selfserve.models.X),
            # wherever in the models package the type lives.
            user_module_prefix="selfserve.models.",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
