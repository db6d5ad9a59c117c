"""The `flask --app app …` commands: db, campaigns, customers."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import click

from selfserve.campaigns import export_campaigns, import_campaigns
from selfserve.commands.journeys import journeys_groups
from selfserve.commands.posters import posters_group
from selfserve.commands.users import users_group
from selfserve.console import PosterCampaign, poster_campaign_from
from selfserve.customers import CustomerFileError, export_consent_csv, import_customers
from selfserve.errors import CampaignFileError
from selfserve.ops import migrate
from selfserve.queue import run_worker
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


def write_output(file: str | None, text: str) -> None:
    """Write a command's output to FILE, or to standard output without one."""
    if file is None:
        click.echo(text, nl=False)
        return
    try:
        Path(file).write_text(text, encoding="utf-8")
    except OSError as error:
        raise click.ClickException(f"cannot write {file}: {error}") from None
    click.echo(f"wrote {file}", err=True)


def build_cli(get_services: Callable[[], Services]) -> list[click.Command]:
    """The command groups the factory adds to `app.cli`."""

    @click.group("db")
    def db_group() -> None:
        """Database schema (Alembic migrations)."""

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    def db_upgrade(revision: str) -> None:
        """Create or upgrade the database schema."""
        migrate.upgrade(get_services().engine, revision)
        click.echo(f"database at {revision}")

    @db_group.command("downgrade")
    @click.argument("revision")
    def db_downgrade(revision: str) -> None:
        """Take the schema back to REVISION."""
        migrate.downgrade(get_services().engine, revision)
        click.echo(f"database at {revision}")

    @db_group.command("revision")
    @click.option("-m", "--message", required=True, help="what the change does")
    def db_revision(message: str) -> None:
        """Write a new migration from the difference between models and database."""
        migrate.new_revision(get_services().engine, message)

    @db_group.command("check")
    def db_check() -> None:
        """Fail if the models have changes no migration describes."""
        migrate.check(get_services().engine)
        click.echo("no changes")

    @click.group("campaigns")
    def campaigns_group() -> None:
        """Campaigns: import and export the TOML campaigns file."""

    @campaigns_group.command("import")
    @click.argument("file", type=click.Path(dir_okay=False))
    def campaigns_import(file: str) -> None:
        """Validate FILE and store its campaigns; nothing changes if any problem is found."""
        services = get_services()
        text = read_text_file(file)
        try:
            with services.writes.begin() as db:
                report = import_campaigns(db, text)
        except CampaignFileError as error:
            click.echo(f"{file}: {len(error.problems)} problem(s), nothing imported:", err=True)
            for problem in error.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(1)
        services.campaigns.invalidate()
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(
            f"campaigns: {len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged"
        )

    @campaigns_group.command("export")
    @click.argument("file", required=False, type=click.Path(dir_okay=False))
    def campaigns_export(file: str | None) -> None:
        """Write every campaign as a campaigns file to FILE (or standard output)."""
        with get_services().sessions() as db:
            text = export_campaigns(db)
        write_output(file, text)

    @click.group("customers")
    def customers_group() -> None:
        """The customer directory."""

    @customers_group.command("import")
    @click.argument("csv_file", metavar="CSV", type=click.Path(dir_okay=False))
    def customers_import(csv_file: str) -> None:
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

    @click.group("consent")
    def consent_group() -> None:
        """Marketing consent: the audit trail."""

    @consent_group.command("export")
    @click.argument("file", required=False, type=click.Path(dir_okay=False))
    @click.option("--reveal", is_flag=True, help="full numbers instead of masked ones (logged)")
    def consent_export(file: str | None, reveal: bool) -> None:
        """Write every consent record (oldest first) as CSV to FILE or standard output."""
        if reveal:
            log.warning("consent_export_revealed", extra={"file": file or "stdout"})
        with get_services().sessions() as db:
            text = export_consent_csv(db, reveal=reveal)
        write_output(file, text)

    def find_poster_campaign(slug: str) -> PosterCampaign | None:
        services = get_services()
        campaign = services.campaigns.by_slug(slug)
        if campaign is None:
            return None
        return poster_campaign_from(campaign, services.settings.twilio_from_number)

    posters = posters_group(find_poster_campaign, lambda: get_services().settings.public_base_url)

    @click.command("worker")
    @click.option("--threads", type=int, default=None, help="worker threads (WORKER_THREADS)")
    def worker(threads: int | None) -> None:
        """Run the task queue's consumer: owed codes, outbound texts (stop with Ctrl-C)."""
        services = get_services()
        settings = services.settings
        run_worker(
            services.jobs,
            threads or settings.worker_threads,
            settings.worker_lease_seconds,
        )

    users = users_group(lambda: get_services().writes)
    return [
        db_group,
        campaigns_group,
        customers_group,
        consent_group,
        posters,
        users,
        worker,
        *journeys_groups(get_services),
    ]
