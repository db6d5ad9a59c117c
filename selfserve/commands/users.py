"""`users …`: console accounts from the command line; every command is audited."""

from __future__ import annotations

from collections.abc import Callable

import click

from selfserve.commands.audited import audit_cli
from selfserve.commands.groups import group_with
from selfserve.console import (
    ROLES,
    create_user,
    field_changes,
    list_users,
    set_active,
    set_password,
    set_role,
)
from selfserve.errors import ConsoleUserError
from selfserve.services import Services

GetServices = Callable[[], Services]


def users_group(get_services: GetServices) -> click.Group:
    """Build the `users` command group; the caller registers it on `app.cli`."""
    return group_with(
        "users",
        "Console users: marketers who log in to /admin/, and their roles.",
        get_services,
        [create, change_password, set_role_command, deactivate, reactivate, list_command],
    )


@click.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(ROLES, case_sensitive=False),
    default=None,
    help="owner, editor or viewer (default: owner for the first user ever, else viewer).",
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The new password (asked for, hidden, when omitted).",
)
@click.pass_obj
def create(get_services: GetServices, email: str, role: str | None, password: str) -> None:
    """Create a console user who logs in with EMAIL and the password."""
    services = get_services()
    try:
        with services.writes.begin() as db:
            account = create_user(db, email, password, role, policy=services.passwords)
    except ConsoleUserError as error:
        audit_cli(services, "user_create", email.strip().lower()[:254], outcome="refused")
        raise click.ClickException(str(error)) from None
    changes = field_changes({}, {"role": account.role})
    audit_cli(services, "user_create", account.email, changes=changes)
    click.echo(f"created console user {account.email} ({account.role})")


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
def change_password(get_services: GetServices, email: str, password: str) -> None:
    """Give the console user EMAIL a new password (their sessions end)."""
    services = get_services()
    try:
        with services.writes.begin() as db:
            account = set_password(db, email, password, policy=services.passwords)
    except ConsoleUserError as error:
        audit_cli(services, "password_change", email.strip().lower()[:254], outcome="refused")
        raise click.ClickException(str(error)) from None
    audit_cli(services, "password_change", account.email)
    click.echo(f"password changed for {account.email}")


@click.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES, case_sensitive=False))
@click.pass_obj
def set_role_command(get_services: GetServices, email: str, role: str) -> None:
    """Give the console user EMAIL the ROLE (their sessions end); keeps at least one owner."""
    services = get_services()
    try:
        with services.writes.begin() as db:
            old_role, account = set_role(db, email, role)
    except ConsoleUserError as error:
        audit_cli(services, "user_role", email.strip().lower()[:254], outcome="refused")
        raise click.ClickException(str(error)) from None
    audit_cli(
        services,
        "user_role",
        account.email,
        changes=field_changes({"role": old_role}, {"role": account.role}),
    )
    click.echo(f"{account.email}: {old_role} -> {account.role}")


def _set_active(get_services: GetServices, email: str, is_active: bool) -> None:
    services = get_services()
    action = "user_reactivate" if is_active else "user_deactivate"
    try:
        with services.writes.begin() as db:
            account = set_active(db, email, is_active)
    except ConsoleUserError as error:
        audit_cli(services, action, email.strip().lower()[:254], outcome="refused")
        raise click.ClickException(str(error)) from None
    audit_cli(services, action, account.email)
    click.echo(f"{account.email} is {'active' if is_active else 'deactivated'}")


@click.command("deactivate")
@click.argument("email")
@click.pass_obj
def deactivate(get_services: GetServices, email: str) -> None:
    """Stop EMAIL from logging in and end their sessions (never the last owner)."""
    _set_active(get_services, email, False)


@click.command("reactivate")
@click.argument("email")
@click.pass_obj
def reactivate(get_services: GetServices, email: str) -> None:
    """Let a deactivated EMAIL log in again."""
    _set_active(get_services, email, True)


@click.command("list")
@click.pass_obj
def list_command(get_services: GetServices) -> None:
    """Print every console user's email, role and status."""
    services = get_services()
    with services.sessions() as db:
        accounts = list_users(db)
    audit_cli(services, "user_list", "")
    for account in accounts:
        status = "" if account.is_active else "  (deactivated)"
        click.echo(f"{account.email}  {account.role}{status}")
