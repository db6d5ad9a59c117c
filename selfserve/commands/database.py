"""`db …`: the database schema, through Alembic migrations."""

from __future__ import annotations

from collections.abc import Callable

import click

from selfserve.commands.groups import group_with
from selfserve.ops import migrate
from selfserve.services import Services


def db_group(get_services: Callable[[], Services]) -> click.Group:
    """The `db` group; its commands call `get_services` when they run."""
    return group_with(
        "db",
        "Database schema (Alembic migrations).",
        get_services,
        [db_upgrade, db_downgrade, db_revision, db_check, db_history],
    )


@click.command("upgrade")
@click.argument("revision", default="head")
@click.pass_obj
def db_upgrade(get_services: Callable[[], Services], revision: str) -> None:
    """Create or upgrade the database schema."""
    services = get_services()
    carried_from = migrate.upgrade(services.engine, revision)
    if carried_from:
        click.echo(f"restamped {carried_from} (before the baseline) as {migrate.BASELINE}")
    if revision == "head":  # code-page tokens are keyed by SECRET_KEY: a migration cannot
        with services.writes.begin() as db:
            filled = services.coupons.code_pages.fill_missing_tokens(db)
        if filled:
            click.echo(f"code page links for {filled} earlier codes")
    click.echo(f"database at {revision}")


@click.command("downgrade")
@click.argument("revision")
@click.pass_obj
def db_downgrade(get_services: Callable[[], Services], revision: str) -> None:
    """Take the schema back to REVISION."""
    migrate.downgrade(get_services().engine, revision)
    click.echo(f"database at {revision}")


@click.command("revision")
@click.option("-m", "--message", required=True, help="what the change does")
@click.pass_obj
def db_revision(get_services: Callable[[], Services], message: str) -> None:
    """Write a new migration from the difference between models and database."""
    migrate.new_revision(get_services().engine, message)


@click.command("check")
@click.pass_obj
def db_check(get_services: Callable[[], Services]) -> None:
    """Fail if the models have changes no migration describes."""
    migrate.check(get_services().engine)
    click.echo("no changes")


@click.command("history")
def db_history() -> None:
    """List the revisions, oldest first (file names follow the same order)."""
    for revision in migrate.known_revisions():
        click.echo(revision)
