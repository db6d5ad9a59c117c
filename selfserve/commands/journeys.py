"""`birthdays send` and `competitions draw|export`: the journeys from the command line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import click

from selfserve.campaigns import CampaignSpec, campaign_zone, moment_of
from selfserve.commands.audited import audit_cli
from selfserve.commands.groups import group_with, write_output
from selfserve.customers import mask_phone
from selfserve.journeys import (
    ALREADY_SENT,
    QUEUED,
    WOULD_SEND,
    BirthdayReport,
    CompetitionError,
    draw_winners,
    export_entries,
    notify_winners,
)
from selfserve.models import utcnow
from selfserve.services import Services
from selfserve.sms import (
    SKIPPED,
    WAITING,
)

log = logging.getLogger(__name__)

STATE_LABELS = {
    WOULD_SEND: "would send",
    "sent": "sent",
    ALREADY_SENT: "already sent",
    SKIPPED: "skipped",
    "failed": "FAILED",
    "in_progress": "in progress",
    WAITING: "waiting",
    QUEUED: "queued",
}


@dataclass(frozen=True)
class JourneyTools:
    """What the journey commands use: the app's services and the clock that says "now"."""

    get_services: Callable[[], Services]
    clock: Callable[[], datetime]


def journeys_groups(
    get_services: Callable[[], Services], clock: Callable[[], datetime] = utcnow
) -> list[click.Command]:
    """The `birthdays` and `competitions` command groups, for `build_cli`."""
    tools = JourneyTools(get_services, clock)
    return [
        group_with("birthdays", "Birthday coupons by SMS.", tools, [birthdays_send]),
        group_with(
            "competitions",
            "Competitions: draw winners, export entries.",
            tools,
            [competitions_draw, competitions_export],
        ),
    ]


@click.command("send")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="the birthday date to send for (YYYY-MM-DD); default today in each campaign's zone",
)
@click.option("--dry-run", is_flag=True, help="list what would be sent; send nothing")
@click.option("--campaign", "slug", help="only this birthday campaign")
@click.pass_obj
def birthdays_send(
    tools: JourneyTools, day: datetime | None, dry_run: bool, slug: str | None
) -> None:
    """Text today's (or DATE's) birthday customers their coupon, once a year each.

    Birthday coupons are marketing: only customers with marketing consent who have not
    opted out get one, and not during their QUIET_HOURS (they wait for a later run).
    Re-running a day sends nothing new; 29 February birthdays are celebrated on
    28 February in common years.
    """
    birthdays = tools.get_services().birthdays(tools.clock)
    try:
        campaigns = birthdays.birthday_campaigns(slug)
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    if not campaigns:
        click.echo("no active birthday campaigns")
        return
    stopped = False
    for campaign in campaigns:
        on = day.date() if day is not None else birthdays.local_today(campaign)
        plan = birthdays.plan(campaign, on)
        if dry_run:
            _print_report(campaign, plan)
            continue
        to_send = plan.count(WOULD_SEND)
        with click.progressbar(
            length=to_send,
            label=f"{campaign.slug}: sending {to_send} birthday text(s)",
            file=sys.stderr,
        ) as bar:
            report = birthdays.run(campaign, on, progress=bar.update, plan=plan)
        _print_report(campaign, report)
        stopped = stopped or bool(report.stopped)
    if stopped:
        sys.exit(1)


@click.command("draw")
@click.argument("slug")
@click.option("--winners", type=click.IntRange(min=1), required=True, help="how many")
@click.option("--seed", help="draw with a seeded generator, to repeat (audit) a draw")
@click.option("--notify", is_flag=True, help="text each winner the winner_message")
@click.pass_obj
def competitions_draw(
    tools: JourneyTools, slug: str, winners: int, seed: str | None, notify: bool
) -> None:
    """Draw winners uniformly at random among SLUG's entries and record the draw.

    Without --seed the operating system's secure generator draws; with --seed the same
    seed over the same entries draws the same winners.
    """
    services = tools.get_services()
    campaign = _competition(services, slug)
    now = tools.clock()
    try:
        with services.writes.begin() as db:
            draw = draw_winners(db, campaign, winners, seed, now)
    except CompetitionError as error:
        audit_cli(services, "competition_draw", slug, outcome="refused")
        raise click.ClickException(str(error)) from None
    audit_cli(services, "competition_draw", slug, changes={"draw": draw.draw_id, "seed": seed})
    how = f"seed {seed!r}" if seed is not None else "secure random"
    click.echo(
        f"draw {draw.draw_id} of {slug}: {len(draw.winners)} winner(s) among "
        f"{draw.entries_count} entries ({how})"
    )
    _print_draw_notes(
        services, campaign, now, wanted=winners, drawn=len(draw.winners), entries=draw.entries_count
    )
    notices = {}
    if notify:
        for winner, sent in notify_winners(
            services.outbox,
            services.sessions,
            campaign,
            draw,
            services.settings.default_region,
        ):
            notices[winner.position] = sent.state.replace("_", " ")
    for winner in draw.winners:
        notice = f"  {notices[winner.position]}" if winner.position in notices else ""
        click.echo(
            f"  {winner.position}. entry {winner.entry_number}  customer {winner.customer_id}"
            f"  {mask_phone(winner.phone_e164)}{notice}"
        )


def _print_draw_notes(
    services: Services,
    campaign: CampaignSpec,
    now: datetime,
    *,
    wanted: int,
    drawn: int,
    entries: int,
) -> None:
    """Say when the draw left out later entries, or when every entry won (`drawn` < `wanted`)."""
    closes = campaign.option("closes_at")
    if closes:
        zone = campaign_zone(campaign, services.settings.default_region)
        if now < moment_of(closes, zone, end=True):
            click.echo(f"note: entries are open until {closes}; later ones are not in it")
    if drawn < wanted:
        click.echo(f"note: only {entries} entries, so every entry won")


@click.command("export")
@click.argument("slug")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--reveal", is_flag=True, help="full phone numbers (the export is logged)")
@click.pass_obj
def competitions_export(tools: JourneyTools, slug: str, file: str | None, reveal: bool) -> None:
    """Write SLUG's entries as CSV to FILE (or standard output); numbers masked."""
    services = tools.get_services()
    campaign = _competition(services, slug)
    with services.sessions() as db:
        text, count = export_entries(db, campaign.slug, reveal=reveal)
    if reveal:
        log.warning(
            "competition_export_revealed",
            extra={"campaign": slug, "entries": count, "file": file or "stdout"},
        )
    revealed = " (numbers revealed)" if reveal else ""
    write_output(file, text, wrote=f"wrote {count} entries to {file}{revealed}", to_stderr=False)


def _competition(services: Services, slug: str) -> CampaignSpec:
    campaign = services.campaigns.by_slug(slug)
    if campaign is None or campaign.action != "competition":
        raise click.ClickException(f"no competition {slug!r}")
    return campaign


def _print_report(campaign: CampaignSpec, report: BirthdayReport) -> None:
    counts = {state: report.count(state) for state in STATE_LABELS}
    if report.dry_run:
        summary = (
            f"{counts[WOULD_SEND]} would be sent, {counts[SKIPPED]} skipped, "
            f"{counts[ALREADY_SENT]} already sent, {counts[WAITING]} waiting "
            "(dry run: nothing sent)"
        )
    else:
        summary = ", ".join(
            f"{counts[state]} {STATE_LABELS[state]}"
            for state in STATE_LABELS
            if state != WOULD_SEND
        )
    click.echo(f"birthdays {report.day.isoformat()} {campaign.slug}: {summary}")
    for result in report.results:
        detail = f"  {result.detail}" if result.detail else ""
        click.echo(
            f"  {STATE_LABELS.get(result.state, result.state):<12} {result.customer_id}"
            f"  {result.phone_masked}{detail}"
        )
    if report.stopped:
        click.echo(f"stopped: {report.stopped}", err=True)
