"""`redemptions sync`: read which of our codes Talon.One saw redeemed, now (the worker does it
every REDEMPTIONS_SYNC_MINUTES)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime

import click

from selfserve.commands.groups import group_with
from selfserve.services import Services

TURN_ON = (
    "Redemptions are off: set TALON_MANAGEMENT_KEY to a Talon.One Management API key "
    "(a service account's key allowed to export effects); see docs/redemptions.md."
)
BAR_FROM_WINDOWS = 3  # a progress bar once a sync reads this many windows


def redemptions_group(get_services: Callable[[], Services]) -> click.Group:
    """Build the `redemptions` command group; the caller registers it on `app.cli`."""
    return group_with(
        "redemptions",
        "Which codes customers redeemed: Talon.One's effects, read into our reports.",
        get_services,
        [sync],
    )


@click.command("sync")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Read from this day (UTC), e.g. 2026-12-01, instead of where the last sync stopped.",
)
@click.pass_obj
def sync(get_services: Callable[[], Services], since: datetime | None) -> None:
    """Read Talon.One's coupon redemptions since the last sync (or --since) and keep ours."""
    services = get_services()
    redemptions = services.redemptions
    if redemptions is None:
        click.echo(TURN_ON, err=True)
        return
    start = since.replace(tzinfo=UTC) if since is not None else None
    windows = redemptions.plan(start)
    if len(windows) >= BAR_FROM_WINDOWS:
        with click.progressbar(
            length=len(windows),
            label="Reading Talon.One effects",
            file=sys.stderr,
        ) as bar:
            summary = redemptions.run(windows=windows, progress=bar.update)
    else:
        summary = redemptions.run(windows=windows)
    for error in summary.errors:
        click.echo(f"not read: {error}", err=True)
    if summary.all_failed:
        raise click.ClickException("no Talon.One campaign could be read (see above)")
    click.echo(
        f"{summary.redeemed} new redemption(s), {summary.rolled_back} rolled back, "
        f"{summary.unchanged} already known, {summary.not_ours} of codes not ours "
        f"({summary.effects} coupon effects, {summary.requests} request(s), "
        f"{summary.campaigns} campaign(s))"
    )
