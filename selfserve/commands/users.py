"""`users …`: console accounts from the command line (the console has no sign-up page)."""

from __future__ import annotations

from collections.abc import Callable

import click
from sqlalchemy.orm import Session, sessionmaker

from selfserve.commands.groups import group_with
from selfserve.console import create_user, list_users, set_password
from selfserve.errors import ConsoleUserError

Sessions = Callable[[], sessionmaker[Session]]


def users_group(get_sessions: Sessions) -> click.Group:
    """Build the `users` command group; the caller registers it on `app.cli`."""
    return group_with(
        "users",
        "Console users: marketers who log in to /admin/.",
        get_sessions,
        [create, change_password, list_command],
    )


@click.command("create")
@click.argument("email")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The new password (asked for, hidden, when omitted).",
)
@click.pass_obj
def create(get_sessions: Sessions, email: str, password: str) -> None:
    """Create a console user who logs in with EMAIL and the password."""
    try:
        with get_sessions().begin() as db:
            account = create_user(db, email, password)
    except ConsoleUserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created console user {account.email}")


@click.command("set-password")
@click.argument("email")
@click.option(
    "--password",
    prompt="New password",
    hide_input=True,
    confirmation_prompt=True,
    help="The new password (asked for, hidden, when omitted).",
)
@click.pass_obj
def change_password(get_sessions: Sessions, email: str, password: str) -> None:
    """Give the console user EMAIL a new password."""
    try:
        with get_sessions().begin() as db:
            account = set_password(db, email, password)
    except ConsoleUserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"password changed for {account.email}")


@click.command("list")
@click.pass_obj
def list_command(get_sessions: Sessions) -> None:
    """Print every console user's email."""
    with get_sessions()() as db:
        for account in list_users(db):
            click.echo(account.email)
