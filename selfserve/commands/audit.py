"""`audit verify|export|prune`: check the hash chain, write the trail as CSV, apply retention."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from selfserve.commands.audited import audit_cli, cli_actor
from selfserve.commands.groups import group_with, write_output
from selfserve.console import AuditRetention, audit_csv, verify_chain
from selfserve.services import Services

GetServices = Callable[[], Services]


def audit_group(get_services: GetServices) -> click.Group:
    """Build the `audit` command group; the caller registers it on `app.cli`."""
    return group_with(
        "audit",
        "The console's audit trail: who changed what, from where.",
        get_services,
        [verify, export, prune],
    )


@click.command("verify")
@click.pass_obj
def verify(get_services: GetServices) -> None:
    """Check every row against its hash and the row before; exit 1 naming each bad row."""
    with get_services().sessions() as db:
        found = verify_chain(db)
    if found.is_intact:
        click.echo(f"audit trail intact: {found.rows_checked} rows checked")
        return
    for problem in found.problems:
        click.echo(str(problem), err=True)
    click.echo(
        f"audit trail BROKEN: {len(found.problems)} problem(s) in {found.rows_checked} rows",
        err=True,
    )
    sys.exit(1)


@click.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.pass_obj
def export(get_services: GetServices, file: str | None) -> None:
    """Write the whole trail as CSV (oldest first) to FILE or standard output."""
    services = get_services()
    with services.sessions() as db:
        text = audit_csv(db)
    audit_cli(services, "audit_export", file or "stdout")
    write_output(file, text)


@click.command("prune")
@click.pass_obj
def prune(get_services: GetServices) -> None:
    """Delete rows older than AUDIT_RETENTION_DAYS now (the worker does it daily)."""
    services = get_services()
    days = services.settings.audit_retention_days
    removed = AuditRetention(services.writes, days).prune_now(actor=cli_actor())
    click.echo(f"pruned {removed} audit rows older than {days} days")
