"""QR posters for campaigns: the payload a poster encodes and the poster itself as PNG, SVG or PDF.

Pure rendering: plain values in, bytes or files out. The CLI (`selfserve.commands.posters`)
and the web console both call `render_poster`, so every poster of a campaign looks and scans
the same. The payload and locations, the fonts, the layout and the three backends live in the
`poster_*` modules beside this one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from reportlab.lib.pagesizes import A4, LETTER

from selfserve.console.poster_fonts import find_fonts
from selfserve.console.poster_layout import lay_out
from selfserve.console.poster_payloads import (
    PosterCampaign,
    PosterError,
    PosterLocation,
    check_src,
    check_token,
    qr_payload,
)
from selfserve.console.poster_renderers import render_pdf, render_png, render_svg

FORMATS = ("png", "svg", "pdf")
PAPERS = ("a4", "letter")

_PAGE_POINTS = {"a4": A4, "letter": LETTER}


def render_poster(
    campaign: PosterCampaign,
    mode: str,
    fmt: str,
    public_base_url: str,
    src: str | None = None,
    label: str | None = None,
    paper: str = "a4",
) -> bytes:
    """Render one printable poster and return the file's bytes.

    `fmt` is "png" (300 dpi), "svg" or "pdf" (one page, vector QR); `paper` is "a4" or "letter".
    Raises PosterError when the campaign, the options or the texts cannot make a poster.
    """
    if fmt not in FORMATS:
        raise PosterError(f"unknown poster format {fmt!r}: use one of {', '.join(FORMATS)}")
    if paper not in _PAGE_POINTS:
        raise PosterError(f"unknown paper size {paper!r}: use one of {', '.join(PAPERS)}")
    payload = qr_payload(campaign, mode, public_base_url, src)
    fonts = find_fonts()
    layout = lay_out(campaign, payload, label or "", _PAGE_POINTS[paper], fonts.measure)
    if fmt == "pdf":
        return render_pdf(layout, fonts, campaign.name)
    if fmt == "svg":
        return render_svg(layout, fonts, campaign.name)
    return render_png(layout, fonts)


def poster_filename(campaign: PosterCampaign, mode: str, fmt: str, src: str | None) -> str:
    """Return the file name of a poster: `<slug>-<mode>[-<src>].<ext>`.

    Raises PosterError when the slug or src would not make a safe file name.
    """
    check_token(campaign.slug, "campaign slug")
    stem = f"{campaign.slug}-{mode}"
    if src:
        check_src(src)
        stem += f"-{src}"
    return f"{stem}.{fmt}"


def write_posters(
    campaign: PosterCampaign,
    mode: str,
    fmt: str,
    out_dir: Path,
    public_base_url: str,
    src: str | None = None,
    locations: Sequence[PosterLocation] | None = None,
    paper: str = "a4",
    progress: Callable[[int], object] | None = None,
) -> list[Path]:
    """Write one poster, or one per location, into `out_dir` (created if missing).

    Returns the paths written, in order. `progress` is called with 1 after each poster.
    Raises PosterError for bad options, a bad src, or a folder that cannot be written.
    """
    if locations is not None and src:
        raise PosterError("give either one src or a list of locations, not both")
    targets = list(locations) if locations is not None else [PosterLocation(src or "", "")]
    if not targets:
        raise PosterError("the list of locations is empty")
    names = [poster_filename(campaign, mode, fmt, target.src or None) for target in targets]
    written: list[Path] = []
    for target, name in zip(targets, names, strict=True):
        try:
            content = render_poster(
                campaign, mode, fmt, public_base_url, target.src or None, target.label, paper
            )
        except PosterError as error:
            if locations is None:
                raise
            raise PosterError(f"poster for src {target.src!r}: {error}") from error
        if not written:
            # Only now: a campaign that cannot be drawn leaves no empty folder behind.
            _make_folder(out_dir)
        path = out_dir / name
        try:
            path.write_bytes(content)
        except OSError as error:
            raise PosterError(f"cannot write {path}: {error.strerror or error}") from error
        written.append(path)
        if progress is not None:
            progress(1)
    return written


def _make_folder(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:
        raise PosterError(
            f"cannot write to {out_dir}: a file of that name is in the way"
        ) from error
    except OSError as error:
        raise PosterError(f"cannot write to {out_dir}: {error.strerror or error}") from error
