"""The `flask --app app …` commands: every group and the queue worker, for `app.cli`."""

from __future__ import annotations

from collections.abc import Callable

import click

from selfserve.commands.audit import audit_group
from selfserve.commands.data_files import data_file_groups
from selfserve.commands.database import db_group
from selfserve.commands.factors import reset_mfa_command
from selfserve.commands.journeys import journeys_groups
from selfserve.commands.posters import posters_group
from selfserve.commands.redemptions import redemptions_group
from selfserve.commands.texts import texts_group
from selfserve.commands.users import users_group
from selfserve.commands.wallet import check_command, wallet_group
from selfserve.console import PosterCampaign, poster_campaign_from
from selfserve.errors import ScreenScanNeeded
from selfserve.queue import run_worker
from selfserve.services import Services


def build_cli(get_services: Callable[[], Services]) -> list[click.Command]:
    """The command groups the factory adds to `app.cli`."""

    def find_poster_campaign(slug: str) -> PosterCampaign | None:
        services = get_services()
        campaign = services.campaigns.by_slug(slug)
        if campaign is None:
            return None
        settings = services.settings
        return poster_campaign_from(
            campaign, settings.twilio_from_number, settings.whatsapp_link_number
        )

    def screen_url(slug: str, rotate: bool) -> str:
        services = get_services()
        campaign = services.campaigns.by_slug(slug)
        if campaign is None:
            raise click.ClickException(f"no campaign with slug {slug!r}")
        try:
            return services.landing.guards.screen_url(campaign, rotate)
        except ScreenScanNeeded:
            raise click.ClickException(
                f"campaign {slug!r} has no fresh_scan_seconds: its posters need no screen"
            ) from None

    posters = posters_group(
        find_poster_campaign, lambda: get_services().settings.public_base_url, screen_url
    )
    users = users_group(get_services)
    users.add_command(reset_mfa_command(get_services))
    return [
        db_group(get_services),
        *data_file_groups(get_services),
        posters,
        users,
        audit_group(get_services),
        worker_command(get_services),
        texts_group(get_services),
        *journeys_groups(get_services),
        redemptions_group(get_services),
        check_command(get_services),
        wallet_group,
    ]


def worker_command(get_services: Callable[[], Services]) -> click.Command:
    """`worker`: the task queue's consumer over `get_services`."""

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

    return worker
