"""`customers export-data NUMBER` and `customers forget NUMBER`: access and erasure requests.

Both log the request with the number masked. Erasure needs nothing remote (Talon.One may be
down) and is idempotent: a number with nothing stored is told so, and the exit status is 0.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import click

from selfserve.commands.audited import audit_cli
from selfserve.commands.groups import write_output
from selfserve.customers import erase_person, export_person, has_data, mask_phone, to_e164
from selfserve.errors import InvalidPhoneNumber
from selfserve.models import utcnow
from selfserve.services import Services

log = logging.getLogger(__name__)


def _number(services: Services, number: str) -> str:
    try:
        return to_e164(number, services.settings.default_region)
    except InvalidPhoneNumber:
        raise click.ClickException(f"not a phone number: {number}") from None


@click.command("export-data")
@click.argument("number")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.pass_obj
def customers_export_data(
    get_services: Callable[[], Services], number: str, file: str | None
) -> None:
    """Write everything stored about NUMBER as JSON to FILE or standard output."""
    services = get_services()
    phone = _number(services, number)
    with services.sessions() as db:
        export = export_person(db, phone, services.settings.identity_secret)
    log.info(
        "customer_data_exported", extra={"phone": mask_phone(phone), "found": has_data(export)}
    )
    audit_cli(services, "customer_export_data", mask_phone(phone))
    write_output(file, json.dumps(export, indent=2, ensure_ascii=False) + "\n")


@click.command("forget")
@click.argument("number")
@click.option("--yes", is_flag=True, help="erase without asking for confirmation")
@click.pass_obj
def customers_forget(get_services: Callable[[], Services], number: str, yes: bool) -> None:
    """Erase NUMBER's person: codes, directory row, texts' bodies; the number stays opted out."""
    services = get_services()
    phone = _number(services, number)
    secret = services.settings.identity_secret
    with services.sessions() as db:
        found = has_data(export_person(db, phone, secret))
    if not found:
        log.info("customer_forget_unknown", extra={"phone": mask_phone(phone)})
        audit_cli(services, "customer_forget", mask_phone(phone), outcome="nothing stored")
        click.echo(f"nothing is stored about {mask_phone(phone)}; nothing to erase")
        return
    if not yes:
        click.confirm(f"Erase everything stored about {mask_phone(phone)}?", abort=True)
    with services.writes.begin() as db:
        result = erase_person(db, phone, secret, method="cli", now=utcnow())
    log.info("person_erased", extra={"phone": mask_phone(phone), "method": "cli"})
    audit_cli(services, "customer_forget", mask_phone(phone), changes=dict(result.row_counts))
    changed = ", ".join(f"{table} {count}" for table, count in result.row_counts.items() if count)
    click.echo(f"erased {mask_phone(phone)}: {changed}")
