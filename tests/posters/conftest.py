"""QR posters: every code is decoded by an independent reader, never trusted from the encoder.

PNG is read with pyzbar; PDF is rasterised with poppler's pdftoppm and SVG with rsvg-convert and
CairoSVG before decoding. A missing tool fails the test: CI installs zbar-tools' libzbar0,
poppler-utils and librsvg2-bin (see POSTERS_NOTES.md). This conftest holds the campaigns and
the readers the test modules beside it share.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import cairosvg
import pytest
from click.testing import CliRunner, Result
from PIL import Image
from pyzbar import pyzbar

from selfserve.commands import posters_group
from selfserve.console import (
    PosterCampaign,
)

BASE_URL = "https://selfserve.example.com"


SPRING = PosterCampaign(
    slug="spring",
    name="Spring 20% off",
    keyword="SPRING",
    sms_number="+61480000000",
    offer="20% off everything in store until 30 September",
    terms_url="https://shop.example.com/terms",
    brand_colour="#0a7d3b",
)


NO_NUMBER = PosterCampaign(slug="comp", name="Win a year of coffee", keyword="WIN", sms_number="")


WORDY = PosterCampaign(
    slug="winter",
    name="Winter warmers: double loyalty points on every hot drink",
    keyword="WARM",
    sms_number="+61480000000",
    offer="Text WARM or scan the code to double your points on coffee, tea and hot chocolate "
    "until the end of July. One coupon per customer.",
    terms_url="https://www.example-coffee-company.com.au/promotions/winter-warmers/terms",
)


CAMPAIGNS = {campaign.slug: campaign for campaign in (SPRING, NO_NUMBER, WORDY)}


MM_PER_INCH = 25.4


RASTER_DPI = 150


def tool(name: str) -> str:
    """Path of a command-line tool; fail (not skip) when it is missing, as CI must have it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (apt-get install poppler-utils librsvg2-bin)")
    return path


def decode(image: Image.Image) -> list[str]:
    """Texts of every QR code zbar finds in the image."""
    return [
        symbol.data.decode("utf-8")
        for symbol in pyzbar.decode(image.convert("L"))
        if symbol.type == "QRCODE"
    ]


def open_png(data: bytes) -> Image.Image:
    """A PNG from bytes, loaded."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def rasterise_pdf(path: Path) -> Image.Image:
    """The PDF's only page as a PNG at RASTER_DPI, by poppler's pdftoppm."""
    out = path.with_name(path.stem + "-raster")
    subprocess.run(
        [tool("pdftoppm"), "-r", str(RASTER_DPI), "-png", "-singlefile", str(path), str(out)],
        check=True,
        capture_output=True,
    )
    return open_png(out.with_suffix(".png").read_bytes())


def rasterise_svg_with_rsvg(path: Path) -> Image.Image:
    """The SVG as a PNG at RASTER_DPI, by librsvg's rsvg-convert."""
    dpi = str(RASTER_DPI)
    converted = subprocess.run(
        [tool("rsvg-convert"), "--dpi-x", dpi, "--dpi-y", dpi, str(path)],
        check=True,
        capture_output=True,
    )
    return open_png(converted.stdout)


def rasterise_svg_with_cairosvg(path: Path) -> Image.Image:
    """The SVG as a PNG at RASTER_DPI, by CairoSVG."""
    return open_png(cairosvg.svg2png(url=str(path), dpi=RASTER_DPI))


def decoded_by_every_reader(path: Path) -> dict[str, list[str]]:
    """What each reader of the file's format decodes, by reader name."""
    if path.suffix == ".png":
        return {"pyzbar": decode(open_png(path.read_bytes()))}
    if path.suffix == ".pdf":
        return {"pdftoppm": decode(rasterise_pdf(path))}
    return {
        "rsvg-convert": decode(rasterise_svg_with_rsvg(path)),
        "cairosvg": decode(rasterise_svg_with_cairosvg(path)),
    }


def pdf_text(path: Path) -> str:
    """The PDF's text by poppler's pdftotext, whitespace collapsed."""
    extracted = subprocess.run(
        [tool("pdftotext"), "-layout", str(path), "-"], check=True, capture_output=True, text=True
    )
    # ASCII whitespace only: a no-break space leaking into the printed text must not match.
    return re.sub(r"[ \t\r\n]+", " ", extracted.stdout).strip()


def pdf_page_points(path: Path) -> tuple[int, int, int]:
    """(pages, width, height) of the PDF, sizes in whole points, by poppler's pdfinfo."""
    info = subprocess.run(
        [tool("pdfinfo"), str(path)], check=True, capture_output=True, text=True
    ).stdout
    pages = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.MULTILINE)
    assert pages is not None, info
    assert size is not None, info
    return int(pages[1]), round(float(size[1])), round(float(size[2]))


def svg_texts(path: Path) -> list[str]:
    """Every text line of the SVG."""
    root = ET.fromstring(path.read_bytes())  # noqa: S314 - our own output, not outside input
    return [element.text or "" for element in root.iter("{http://www.w3.org/2000/svg}text")]


def run_make(
    out: Path | str,
    *options: str | Path,
    slug: str = "spring",
    mode: str = "web",
    fmt: str = "png",
    campaigns: dict[str, PosterCampaign] = CAMPAIGNS,
) -> Result:
    """Run `posters make` as `flask --app app posters make ...` would, over a dict of campaigns."""
    group = posters_group(campaigns.get, lambda: BASE_URL)
    args = ["make", slug, "--mode", mode, "--format", fmt, "--out", str(out)]
    return CliRunner().invoke(group, args + [str(option) for option in options])


def printed_paths(result: Result) -> list[Path]:
    """The files the command says it wrote, from stdout."""
    return [Path(line) for line in result.stdout.splitlines() if line.strip()]


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """The command failed cleanly: non-zero exit, one line of error, no traceback."""
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    # The progress bar's label (printed once when stderr is not a terminal) is not an error.
    lines = [
        line
        for line in result.output.splitlines()
        if line.strip() and not re.fullmatch(r"Rendering \d+ posters", line)
    ]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def module_grid(image: Image.Image) -> tuple[int, int, float, int]:
    """(left, top, module size in px, modules per side) of the one QR symbol in the image.

    zbar's rectangle is only near the symbol's corners, so the exact edges are the dark pixels
    around it (finder patterns fill all three outer corners); the module size comes from the
    top-left finder pattern, which is 7 modules wide.
    """
    (symbol,) = pyzbar.decode(image.convert("L"))
    grey = image.convert("L")
    slack = symbol.rect.width // 50  # well inside the 4-module quiet zone
    search = (
        symbol.rect.left - slack,
        symbol.rect.top - slack,
        symbol.rect.left + symbol.rect.width + slack,
        symbol.rect.top + symbol.rect.height + slack,
    )
    dark = grey.crop(search).point(lambda value: 255 if value < 128 else 0).getbbox()
    assert dark is not None
    left, top = search[0] + dark[0], search[1] + dark[1]
    right = left
    while grey.getpixel((right, top + 1)) < 128:
        right += 1
    module = (right - left) / 7
    return left, top, module, round((dark[2] - dark[0]) / module)


def is_dark(image: Image.Image, left: int, top: int, module: float, row: int, column: int) -> bool:
    """Whether the module at (row, column) of the symbol is dark, sampled at its centre."""
    centre = (round(left + (column + 0.5) * module), round(top + (row + 0.5) * module))
    return image.convert("L").getpixel(centre) < 128
