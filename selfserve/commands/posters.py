"""`posters make`: print a campaign's QR posters from the command line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from selfserve.commands.groups import group_with
from selfserve.console import (
    FORMATS,
    MODES,
    PAPERS,
    PosterCampaign,
    PosterError,
    read_locations,
    write_posters,
)


@dataclass(frozen=True)
class PosterSource:
    """Where `posters make` finds a campaign and PUBLIC_BASE_URL (see `posters_group`)."""

    find_campaign: Callable[[str], PosterCampaign | None]
    public_base_url: Callable[[], str]
    # (slug, rotate) → the screen page's secret URL; raises click.ClickException when the
    # campaign is unknown or has no fresh_scan_seconds.
    screen_url: Callable[[str, bool], str] | None = None


def posters_group(
    find_campaign: Callable[[str], PosterCampaign | None],
    public_base_url: Callable[[], str],
    screen_url: Callable[[str, bool], str] | None = None,
) -> click.Group:
    """Build the `posters` command group; the caller registers it on `app.cli`.

    `find_campaign` returns the campaign with that slug (its sms_number already resolved to the
    campaign's own number or TWILIO_FROM_NUMBER) or None; `public_base_url` returns
    PUBLIC_BASE_URL. Both are called only when a command runs.
    """
    source = PosterSource(find_campaign, public_base_url, screen_url)
    commands = [make, screen_url_command] if screen_url else [make]
    return group_with("posters", "Print QR posters for campaigns.", source, commands)


@click.command("screen-url")
@click.argument("slug")
@click.option("--rotate-key", is_flag=True, help="Revoke the old screen URL and print a new one.")
@click.pass_obj
def screen_url_command(source: PosterSource, slug: str, rotate_key: bool) -> None:
    """Print the secret URL of SLUG's screen page (a campaign with fresh_scan_seconds).

    Open it full-screen on the stadium screen or till display: it shows a QR code that
    changes every fresh_scan_seconds, so a photo of it soon stops working.
    """
    assert source.screen_url is not None  # noqa: S101 - only registered with it
    click.echo(source.screen_url(slug, rotate_key))


@click.command("make")
@click.argument("slug")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    required=True,
    help="web: the QR opens PUBLIC_BASE_URL/q/SLUG; sms: it pre-fills a text of the keyword; "
    "whatsapp: it opens a WhatsApp chat (WHATSAPP_NUMBER) with the keyword typed.",
)
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), required=True, help="Output file type."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the posters (created if missing).",
)
@click.option(
    "--src",
    metavar="LOCATION",
    help="Location tracked by a web QR code (?src=) and added to the file name.",
)
@click.option(
    "--locations",
    "locations_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with columns src,label: one poster per row.",
)
@click.option(
    "--paper", type=click.Choice(PAPERS), default="a4", show_default=True, help="Page size."
)
@click.pass_obj
def make(
    source: PosterSource,
    slug: str,
    mode: str,
    fmt: str,
    out_dir: Path,
    src: str | None,
    locations_file: Path | None,
    paper: str,
) -> None:
    """Write the posters of campaign SLUG into --out and print each file written."""
    if src and locations_file:
        raise click.UsageError("use --src for one poster or --locations for many, not both")
    campaign = source.find_campaign(slug)
    if campaign is None:
        raise click.ClickException(f"no campaign with slug {slug!r}")
    try:
        if locations_file is None:
            paths = write_posters(
                campaign, mode, fmt, out_dir, source.public_base_url(), src=src, paper=paper
            )
        else:
            paths = _write_per_location(source, campaign, mode, fmt, out_dir, locations_file, paper)
    except PosterError as error:
        raise click.ClickException(str(error)) from error
    for path in paths:
        click.echo(str(path))


def _write_per_location(
    source: PosterSource,
    campaign: PosterCampaign,
    mode: str,
    fmt: str,
    out_dir: Path,
    locations_file: Path,
    paper: str,
) -> list[Path]:
    """One poster per row of the locations CSV, with a progress bar."""
    locations = read_locations(locations_file)
    # On stderr, so stdout stays the list of files for scripts.
    with click.progressbar(
        length=len(locations),
        label=f"Rendering {len(locations)} posters",
        file=sys.stderr,
    ) as bar:
        return write_posters(
            campaign,
            mode,
            fmt,
            out_dir,
            source.public_base_url(),
            locations=locations,
            paper=paper,
            progress=bar.update,
        )
