"""`users reset-mfa EMAIL`: remove a console user's second factors (a lost phone)."""

from __future__ import annotations

import getpass
from collections.abc import Callable

import click

from selfserve.console import find_user_by_email
from selfserve.services import Services


def cli_actor() -> str:
    """Who runs a command, as events name them: `cli:<os user>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "cli:unknown"


def reset_mfa_command(get_services: Callable[[], Services]) -> click.Command:
    """The `reset-mfa` command of the `users` group, over `get_services`."""

    @click.command("reset-mfa")
    @click.argument("email")
    def reset_mfa(email: str) -> None:
        """Remove EMAIL's authenticator app, passkeys and recovery codes (recorded).

        With MFA_REQUIRED the user enrols again right after their next password log-in.
        """
        services = get_services()
        with services.writes.begin() as db:
            account = find_user_by_email(db, email)
            if account is None:
                raise click.ClickException(f"no console user {email.strip().lower()}")
            services.factors.reset(db, account, actor=cli_actor())
        click.echo(f"second factors removed for {account.email}: they enrol again at next log-in")

    return reset_mfa
