"""`texts reconcile`: answer the inbound texts only Twilio knows about (texts/reconcile.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import click

from selfserve.commands.groups import group_with
from selfserve.errors import SmsError
from selfserve.services import Services

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str) -> timedelta:
    """`2h`, `90m`, `1d`, `45s` as a timedelta; a bad value is a usage error."""
    found = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", value.lower())
    if not found or int(found.group(1)) == 0:
        raise click.BadParameter("use a duration such as 2h, 90m or 1d", param_hint="--since")
    return timedelta(**{UNITS[found.group(2)]: int(found.group(1))})


@click.command("reconcile")
@click.option("--since", default="2h", show_default=True, help="how far back: 2h, 90m, 1d")
@click.pass_obj
def texts_reconcile(get_services: Callable[[], Services], since: str) -> None:
    """Answer, by outbound text, inbound texts Twilio has and the app never saw; record
    older ones (RECONCILE_MAX_AGE_MINUTES) as missed. Running it twice answers nothing twice."""
    window = parse_since(since)
    reconciler = get_services().reconciler
    if reconciler is None:
        raise click.ClickException(
            "Twilio credentials are not set (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN): "
            "there is no Messages list to reconcile with"
        )
    try:
        report = reconciler.run(window)
    except SmsError as error:
        raise click.ClickException(f"could not list Twilio's messages: {error.reason}") from None
    click.echo(
        f"answered {report.answered}, recorded as missed {report.missed}, "
        f"already known {report.known}, still being answered {report.pending}"
    )


def texts_group(get_services: Callable[[], Services]) -> click.Group:
    """`texts`: inbound texts."""
    return group_with("texts", "Inbound texts.", get_services, [texts_reconcile])
