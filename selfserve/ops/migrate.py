"""Alembic, driven from the app: the `db` commands and the test fixtures use this.

migrations/versions/ starts at one baseline (`0001_baseline`): the schema the sixteen pre-1.0
revisions built, folded into one. Those revisions stay in migrations/legacy/ for one purpose:
a database stamped with one of them is carried to the baseline by `upgrade` (the old chain
finishes, then the stamp is rewritten), so no existing installation is stranded.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
LEGACY = MIGRATIONS / "legacy"
BASELINE = "0001_baseline"
# The old chain's last revision: its schema is exactly the baseline's.
LEGACY_HEAD = "0016_deferred_by_customer"


def alembic_config(engine: Engine | None, versions: Path | None = None) -> Config:
    """An Alembic config bound to `engine` and this project's migrations folder (or, with
    `versions`, another folder of revisions run by the same env.py)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if versions is not None:
        config.set_main_option("version_locations", str(versions))
    config.attributes["engine"] = engine
    return config


@cache
def head_revision() -> str:
    """The revision the code expects the schema at."""
    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()
    if head is None:
        raise LookupError(f"no revisions in {MIGRATIONS / 'versions'}")
    return head


@cache
def known_revisions() -> tuple[str, ...]:
    """Every revision in migrations/versions, oldest first (read once per process)."""
    script = ScriptDirectory.from_config(alembic_config(None))
    return tuple(revision.revision for revision in reversed(list(script.walk_revisions())))


@cache
def legacy_revisions() -> frozenset[str]:
    """The pre-baseline revision ids (migrations/legacy/)."""
    script = ScriptDirectory.from_config(alembic_config(None, LEGACY))
    return frozenset(revision.revision for revision in script.walk_revisions())


def stamped_revision(engine: Engine) -> str | None:
    """The revision the database is stamped with; None for an empty database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def carry_over_legacy(engine: Engine) -> str | None:
    """A database stamped with a pre-baseline revision: finish the old chain, then restamp it
    as the baseline (same schema). Returns the old revision, or None if there was nothing to do."""
    stamped = stamped_revision(engine)
    if stamped is None or stamped not in legacy_revisions():
        return None
    if stamped != LEGACY_HEAD:
        command.upgrade(alembic_config(engine, LEGACY), LEGACY_HEAD)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE alembic_version SET version_num = :baseline"), {"baseline": BASELINE}
        )
    log.info("migrations_restamped", extra={"from_revision": stamped, "to_revision": BASELINE})
    return stamped


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the database schema up to `revision` (from a pre-baseline stamp too); returns
    the pre-baseline revision it was carried over from, if it was."""
    carried_from = carry_over_legacy(engine)
    command.upgrade(alembic_config(engine), revision)
    return carried_from


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database schema down to `revision`."""
    command.downgrade(alembic_config(engine), revision)


def check(engine: Engine) -> None:
    """Raise if the models have changes that no revision describes."""
    command.check(alembic_config(engine))


def next_revision_id(message: str) -> str:
    """`00NN_words_of_the_message`: the next number in the chain, so file names, revision ids
    and the chain keep one order (tests/test_migration_order.py checks it)."""
    words = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40].rstrip("_")
    return f"{len(known_revisions()) + 1:04d}_{words or 'revision'}"


def new_revision(engine: Engine, message: str) -> None:
    """Write a new revision comparing the models with the database, named in chain order."""
    config = alembic_config(engine)
    config.set_main_option("file_template", "%%(rev)s")  # the file is named by its revision id
    command.revision(config, message=message, autogenerate=True, rev_id=next_revision_id(message))
