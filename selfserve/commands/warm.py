"""`campaigns warm` and `campaigns plan`: get ready for a burst of texts (a stadium's half-time).

`warm` fetches directory customers' codes ahead, with a share of the Talon.One budget
(coupons/warm_up.py); `plan` says what a burst would do to the budget (coupons/burst_plan.py).
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

import click

from selfserve.campaigns import CampaignSpec, campaign_zone
from selfserve.commands.audited import audit_cli
from selfserve.coupons import BurstPlan, WarmPlan, WarmReport, plan_burst
from selfserve.errors import WarmUpRefused
from selfserve.services import Services

UNTIL_FORMATS = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]
SEGMENT_COLUMNS = ("customer_id", "phone")  # the first one present is used


@click.command("warm")
@click.argument("slug")
@click.option(
    "--segment",
    type=click.File("r", encoding="utf-8-sig"),
    help="CSV of phones or customer ids (a `customer_id` or `phone` column, else the first)",
)
@click.option("--budget-share", "share", type=float, default=0.5, show_default=True)
@click.option(
    "--until",
    type=click.DateTime(formats=UNTIL_FORMATS),
    help='stop at this time, e.g. "2026-12-24 18:00" (the campaign\'s zone unless given)',
)
@click.pass_obj
def campaigns_warm(
    get_services: Callable[[], Services],
    slug: str,
    segment: TextIO | None,
    share: float,
    until: datetime | None,
) -> None:
    """Fetch directory customers' codes for SLUG before they text, with at most a share of
    the Talon.One budget. Run it again to continue; Ctrl-C loses nothing."""
    services = get_services()
    campaign = _campaign(services, slug)
    warm_ups = services.warm_ups
    try:
        warm_ups.ceiling(share)
        plan = warm_ups.plan(campaign, _segment(segment) if segment else None)
    except WarmUpRefused as error:
        raise click.ClickException(str(error)) from None
    for entry in plan.not_found:
        click.echo(f"not in the directory: {entry}", err=True)
    click.echo(
        f"{slug}: {plan.ready} of {plan.total} customers have their code; "
        f"{len(plan.to_fetch)} to fetch at up to {warm_ups.ceiling(share)} calls a window",
        err=True,
    )
    audit_cli(services, "campaign_warm", slug, changes={"budget_share": share})
    report = _run_with_progress(services, campaign, plan, share, _until(services, campaign, until))
    click.echo(f"warm: {report.warmed} of {report.total} ({report.state}, {report.calls} fetched)")
    if report.state == "failed":
        click.echo(f"stopped by Talon.One: {report.detail}", err=True)
        sys.exit(1)


@click.command("plan")
@click.argument("slug")
@click.option("--expected", type=click.IntRange(min=0), required=True, help="texts expected")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), required=True)
@click.option("--budget-share", "share", type=float, default=0.5, show_default=True)
@click.option("--until", type=click.DateTime(formats=UNTIL_FORMATS), help="kick-off time")
@click.pass_obj
def campaigns_plan(
    get_services: Callable[[], Services],
    slug: str,
    expected: int,
    minutes: float,
    share: float,
    until: datetime | None,
) -> None:
    """Forecast a burst of EXPECTED texts in MINUTES: answered inline, deferred, how long
    the queue takes to drain, and how far a warm-up started now would get."""
    services = get_services()
    campaign = _campaign(services, slug)
    settings = services.settings
    try:
        services.warm_ups.ceiling(share)
        warm = services.warm_ups.plan(campaign)
    except WarmUpRefused as error:
        raise click.ClickException(str(error)) from None
    per_minute = settings.talon_rate_limit_per_minute * 60.0 / settings.talon_rate_window_seconds
    deadline = _until(services, campaign, until)
    burst = plan_burst(
        expected=expected,
        minutes=minutes,
        calls_per_minute=per_minute,
        ready=warm.ready,
        directory=warm.total,
        share=share,
        minutes_until=None
        if deadline is None
        else (deadline - services.warm_ups.now()).total_seconds() / 60,
    )
    click.echo(_describe(slug, burst, share, until))


def _describe(slug: str, burst: BurstPlan, share: float, until: datetime | None) -> str:
    """The forecast as the operator reads it."""
    lines = [
        f"{slug}: Talon.One budget {burst.calls_per_minute:,.0f} calls a minute "
        "(TALON_RATE_LIMIT_PER_MINUTE)",
        f"expected {burst.expected:,} texts in {burst.minutes:g} minutes "
        f"({burst.expected / burst.minutes:,.0f} a minute)",
        f"  answered inline:   {burst.inline:,}",
        f"    code ready (warm), no Talon.One call: {burst.ready:,}",
        f"    new, within the budget:               {burst.inline_new:,}",
        f'  deferred:          {burst.deferred:,} ("we\'ll text your code", then by SMS)',
        f"  queue drains in {burst.drain_minutes:,.1f} minutes after the burst "
        f"(at {burst.calls_per_minute:,.0f} a minute)",
        f"warm-up now (--budget-share {share:g}, {burst.warm_per_minute:,.0f} a minute): "
        f"{burst.cold:,} directory customers without a code, {burst.warm_minutes:,.1f} minutes",
    ]
    if burst.warmed_by_until is not None and until is not None:
        lines.append(f"  by {until:%Y-%m-%d %H:%M} it warms {burst.warmed_by_until:,} of them")
    lines.append("assumes texts arrive evenly and each customer with a code ready texts once")
    return "\n".join(lines)


def _run_with_progress(
    services: Services,
    campaign: CampaignSpec,
    plan: WarmPlan,
    share: float,
    until: datetime | None,
) -> WarmReport:
    """Run the warm-up behind a progress bar (rate and ETA) on stderr."""
    started = time.monotonic()
    fetched = 0

    def rate(_: object) -> str:
        elapsed = max(time.monotonic() - started, 1e-6)
        return f"{fetched / elapsed * 60:,.0f}/min"

    with click.progressbar(
        length=len(plan.to_fetch),
        label=f"warming {campaign.slug}",
        show_eta=True,
        show_pos=True,
        item_show_func=rate,
        file=sys.stderr,
    ) as bar:

        def advance(steps: int) -> None:
            nonlocal fetched
            fetched += steps
            bar.update(steps, fetched)

        try:
            return services.warm_ups.run(campaign, plan, share=share, until=until, progress=advance)
        except KeyboardInterrupt:
            click.echo(
                f"\nstopped after {fetched} code(s); every one is kept. "
                "Run the same command again to continue.",
                err=True,
            )
            sys.exit(130)


def _campaign(services: Services, slug: str) -> CampaignSpec:
    campaign = services.campaigns.by_slug(slug)
    if campaign is None:
        raise click.ClickException(f"no campaign {slug}")
    return campaign


def _until(services: Services, campaign: CampaignSpec, until: datetime | None) -> datetime | None:
    """--until as an aware time: a time without an offset is in the campaign's zone."""
    if until is None or until.tzinfo is not None:
        return until
    return until.replace(tzinfo=campaign_zone(campaign, services.settings.default_region))


def _segment(file: TextIO) -> list[str]:
    """The customer ids or phones of a segment CSV: its `customer_id` (else `phone`) column
    when it has that header, else every row's first cell."""
    rows = [row for row in csv.reader(file) if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    named = [name for name in SEGMENT_COLUMNS if name in header]
    if not named:
        return [row[0].strip() for row in rows if row[0].strip()]
    column = header.index(named[0])
    return [row[column].strip() for row in rows[1:] if column < len(row) and row[column].strip()]
