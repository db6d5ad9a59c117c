"""`campaigns import|export`, `customers import`, `consent export`: files in and out."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import click

from selfserve.campaigns import export_campaigns, import_campaigns
from selfserve.commands.audited import audit_cli
from selfserve.commands.data_rights import customers_export_data, customers_forget
from selfserve.commands.groups import group_with, write_output
from selfserve.commands.warm import campaigns_plan, campaigns_warm
from selfserve.customers import CustomerFileError, export_consent_csv, import_customers
from selfserve.errors import CampaignFileError
from selfserve.services import Services

log = logging.getLogger(__name__)


def read_text_file(path: str) -> str:
    """Read a UTF-8 file given on the command line, or fail with one clear line."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise click.ClickException(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(f"cannot read {path}: {error}") from None


def data_file_groups(get_services: Callable[[], Services]) -> list[click.Command]:
    """The `campaigns`, `customers` and `consent` groups over `get_services`."""

    return [
        group_with(
            "campaigns",
            "Campaigns: import and export the TOML campaigns file; warm codes, plan a burst.",
            get_services,
            [campaigns_import, campaigns_export, campaigns_warm, campaigns_plan],
        ),
        group_with(
            "customers",
            "The customer directory, and a person's data rights (access, erasure).",
            get_services,
            [customers_import, customers_export_data, customers_forget],
        ),
        group_with(
            "consent", "Marketing consent: the audit trail.", get_services, [consent_export]
        ),
    ]


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_obj
def campaigns_import(get_services: Callable[[], Services], file: str) -> None:
    """Validate FILE and store its campaigns; nothing changes if any problem is found."""
    services = get_services()
    text = read_text_file(file)
    try:
        with services.writes.begin() as db:
            report = import_campaigns(db, text)
    except CampaignFileError as error:
        audit_cli(services, "campaigns_import", Path(file).name, outcome="invalid")
        click.echo(f"{file}: {len(error.problems)} problem(s), nothing imported:", err=True)
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    services.campaigns.invalidate()
    counts = {"created": list(report.created), "updated": list(report.updated)}
    audit_cli(services, "campaigns_import", Path(file).name, changes=counts)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"campaigns: {len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged"
    )


@click.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.pass_obj
def campaigns_export(get_services: Callable[[], Services], file: str | None) -> None:
    """Write every campaign as a campaigns file to FILE (or standard output)."""
    with get_services().sessions() as db:
        text = export_campaigns(db)
    write_output(file, text)


@click.command("import")
@click.argument("csv_file", metavar="CSV", type=click.Path(dir_okay=False))
@click.pass_obj
def customers_import(get_services: Callable[[], Services], csv_file: str) -> None:
    """Import phone,customer_id[,first_name,birthday] rows; numbers become E.164."""
    services = get_services()
    text = read_text_file(csv_file)
    try:
        with services.writes.begin() as db:
            report = import_customers(db, text, services.settings.default_region)
    except CustomerFileError as error:
        raise click.ClickException(f"{csv_file}: {error}") from None
    click.echo(
        f"customers: {report.imported} imported, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.rejected)} rejected; "
        f"{report.consents_recorded} marketing consent(s) recorded"
    )
    for line, reason in report.rejected:
        click.echo(f"  line {line}: {reason}", err=True)


@click.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--reveal", is_flag=True, help="full numbers instead of masked ones (logged)")
@click.pass_obj
def consent_export(get_services: Callable[[], Services], file: str | None, reveal: bool) -> None:
    """Write every consent record (oldest first) as CSV to FILE or standard output."""
    services = get_services()
    if reveal:
        log.warning("consent_export_revealed", extra={"file": file or "stdout"})
        audit_cli(services, "consent_export_reveal", Path(file).name if file else "stdout")
    with services.sessions() as db:
        text = export_consent_csv(db, reveal=reveal)
    write_output(file, text)
