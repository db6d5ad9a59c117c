"""QR posters: every code is decoded by an independent reader, never trusted from the encoder.

PNG is read with pyzbar; PDF is rasterised with poppler's pdftoppm and SVG with rsvg-convert and
CairoSVG before decoding. A missing tool fails the test: CI installs zbar-tools' libzbar0,
poppler-utils and librsvg2-bin (see POSTERS_NOTES.md).
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
    PosterError,
    PosterLocation,
    poster_fonts,
    qr_payload,
    read_locations,
    render_poster,
    write_posters,
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


# --- independent readers ------------------------------------------------------------------------


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


# --- the CLI ------------------------------------------------------------------------------------


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


# --- payloads -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "base_url", "src", "expected"),
    [
        ("sms", BASE_URL, None, "SMSTO:+61480000000:SPRING"),
        ("sms", BASE_URL, "bondi", "SMSTO:+61480000000:SPRING"),
        ("web", BASE_URL, None, "https://selfserve.example.com/q/spring"),
        ("web", BASE_URL + "/", None, "https://selfserve.example.com/q/spring"),
        ("web", BASE_URL, "bondi", "https://selfserve.example.com/q/spring?src=bondi"),
        ("web", BASE_URL, "Main St & 5th/2", f"{BASE_URL}/q/spring?src=Main%20St%20%26%205th%2F2"),
        ("web", "http://127.0.0.1:5000", "", "http://127.0.0.1:5000/q/spring"),
    ],
)
def test_the_payload_is_exactly_smsto_or_the_landing_url(
    mode: str, base_url: str, src: str | None, expected: str
) -> None:
    assert qr_payload(SPRING, mode, base_url, src) == expected


@pytest.mark.parametrize(
    ("campaign", "mode", "base_url", "message"),
    [
        (NO_NUMBER, "sms", BASE_URL, "set TWILIO_FROM_NUMBER or the campaign's sms_number"),
        (PosterCampaign("x", "X", "X", "0480 000 000"), "sms", BASE_URL, "not an E.164 number"),
        (SPRING, "web", "selfserve.example.com", "PUBLIC_BASE_URL"),
        (SPRING, "fax", BASE_URL, "unknown poster mode"),
    ],
)
def test_a_payload_that_cannot_work_is_refused(
    campaign: PosterCampaign, mode: str, base_url: str, message: str
) -> None:
    with pytest.raises(PosterError, match=re.escape(message)):
        qr_payload(campaign, mode, base_url, None)


# --- every mode and format scans --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("sms", "SMSTO:+61480000000:SPRING"),
        ("web", "https://selfserve.example.com/q/spring?src=bondi"),
    ],
)
def test_every_mode_and_format_scans_to_its_exact_payload(
    tmp_path: Path, mode: str, fmt: str, expected: str
) -> None:
    out = tmp_path / "posters"  # does not exist yet: the command creates it
    result = run_make(out, "--src", "bondi", mode=mode, fmt=fmt)
    assert result.exit_code == 0, result.output
    assert printed_paths(result) == [out / f"spring-{mode}-bondi.{fmt}"]
    for reader, payloads in decoded_by_every_reader(out / f"spring-{mode}-bondi.{fmt}").items():
        assert payloads == [expected], reader


def test_without_a_location_the_file_and_the_url_carry_no_src(tmp_path: Path) -> None:
    result = run_make(tmp_path)
    assert result.exit_code == 0, result.output
    assert printed_paths(result) == [tmp_path / "spring-web.png"]
    assert decode(open_png((tmp_path / "spring-web.png").read_bytes())) == [
        "https://selfserve.example.com/q/spring"
    ]


# --- print quality ------------------------------------------------------------------------------


def test_the_png_is_an_a4_page_at_300_dpi() -> None:
    image = open_png(render_poster(SPRING, "web", "png", BASE_URL, src="bondi"))
    assert tuple(round(value) for value in image.info["dpi"]) == (300, 300)
    assert image.size == (2480, 3508)  # 210 x 297 mm at 300 dpi


@pytest.mark.parametrize(("paper", "size"), [("a4", (595, 842)), ("letter", (612, 792))])
def test_the_pdf_is_one_page_of_the_paper_asked_for(
    tmp_path: Path, paper: str, size: tuple[int, int]
) -> None:
    path = tmp_path / "poster.pdf"
    path.write_bytes(render_poster(SPRING, "web", "pdf", BASE_URL, src="bondi", paper=paper))
    assert pdf_page_points(path) == (1, *size)
    assert decode(rasterise_pdf(path)) == ["https://selfserve.example.com/q/spring?src=bondi"]


def test_the_pdf_draws_the_qr_as_vectors_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "poster.pdf"
    path.write_bytes(render_poster(SPRING, "sms", "pdf", BASE_URL))
    listed = subprocess.run(
        [tool("pdfimages"), "-list", str(path)], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert len(listed) == 2, listed  # the column header and its underline, no image rows
    assert not re.search(rb"/Subtype\s*/Image", path.read_bytes())
    assert decode(rasterise_pdf(path)) == ["SMSTO:+61480000000:SPRING"]


def test_the_svg_draws_the_qr_as_vectors_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "poster.svg"
    path.write_bytes(render_poster(SPRING, "web", "svg", BASE_URL))
    root = ET.fromstring(path.read_bytes())  # noqa: S314 - our own output
    assert list(root.iter("{http://www.w3.org/2000/svg}image")) == []
    assert list(root.iter("{http://www.w3.org/2000/svg}path"))


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


@pytest.mark.parametrize(
    ("campaign", "mode", "src"),
    [(SPRING, "sms", None), (SPRING, "web", "bondi"), (WORDY, "web", "shop-12")],
)
def test_the_qr_is_big_enough_to_scan_from_a_metre_and_a_half(
    campaign: PosterCampaign, mode: str, src: str | None
) -> None:
    image = open_png(render_poster(campaign, mode, "png", BASE_URL, src=src, label="Shop 12"))
    (symbol,) = pyzbar.decode(image.convert("L"))
    # About a tenth of the scanning distance, in print.
    assert symbol.rect.width / 300 * MM_PER_INCH >= 110
    assert symbol.rect.height / 300 * MM_PER_INCH >= 110


def test_the_qr_keeps_a_white_quiet_zone_of_four_modules() -> None:
    image = open_png(render_poster(SPRING, "web", "png", BASE_URL, src="bondi", label="Bondi"))
    left, top, module, count = module_grid(image)
    size = round(count * module)
    zone = round(4 * module)
    grey = image.convert("L")
    strips = [
        (left - zone, top - zone, left + size + zone, top - 1),  # above
        (left - zone, top + size + 1, left + size + zone, top + size + zone),  # below
        (left - zone, top, left - 1, top + size),  # left
        (left + size + 1, top, left + size + zone, top + size),  # right
    ]
    for strip in strips:
        assert grey.crop(strip).getextrema() == (255, 255), strip


def test_the_qr_uses_error_correction_q_or_h() -> None:
    image = open_png(render_poster(SPRING, "web", "png", BASE_URL, src="bondi"))
    left, top, module, count = module_grid(image)

    def bit(row: int, column: int) -> int:
        return int(is_dark(image, left, top, module, row, column))

    # ISO/IEC 18004 format information: its two top bits are the level, masked with 0b10
    # (L=01, M=00, Q=11, H=10); one copy beside the top-left finder, one by the bottom-left.
    beside_top_left = (bit(8, 0) ^ 1, bit(8, 1))
    by_bottom_left = (bit(count - 1, 8) ^ 1, bit(count - 2, 8))
    assert beside_top_left == by_bottom_left
    assert beside_top_left in {(1, 1), (1, 0)}  # Q or H


# --- what the poster says -----------------------------------------------------------------------


def test_the_pdf_poster_says_what_a_shop_needs(tmp_path: Path) -> None:
    path = tmp_path / "poster.pdf"
    path.write_bytes(
        render_poster(SPRING, "sms", "pdf", BASE_URL, label="Bondi Junction, Westfield Level 3")
    )
    text = pdf_text(path)
    for expected in [
        "Spring 20% off",
        "20% off everything in store until 30 September",
        "Scan or text SPRING to 0480 000 000",
        "Msg&data rates may apply. Reply STOP to opt out.",
        "Terms: https://shop.example.com/terms",
        "Bondi Junction, Westfield Level 3",
    ]:
        assert expected in text


def test_the_svg_poster_is_text_not_outlines(tmp_path: Path) -> None:
    path = tmp_path / "poster.svg"
    path.write_bytes(render_poster(SPRING, "web", "svg", BASE_URL, label="Bondi"))
    lines = svg_texts(path)
    assert "Spring 20% off" in lines
    assert "Scan or text SPRING to 0480 000 000" in lines
    assert "Msg&data rates may apply. Reply STOP to opt out." in lines
    assert "Bondi" in lines


def test_a_web_poster_without_any_sms_number_still_renders(tmp_path: Path) -> None:
    path = tmp_path / "poster.pdf"
    path.write_bytes(render_poster(NO_NUMBER, "web", "pdf", BASE_URL))
    assert "Scan with your phone camera" in pdf_text(path)
    assert "Terms:" not in pdf_text(path)
    assert decode(rasterise_pdf(path)) == ["https://selfserve.example.com/q/comp"]


def test_the_brand_colour_paints_the_headline(tmp_path: Path) -> None:
    path = tmp_path / "poster.svg"
    path.write_bytes(render_poster(SPRING, "web", "svg", BASE_URL))
    root = ET.fromstring(path.read_bytes())  # noqa: S314 - our own output
    headline = next(
        element
        for element in root.iter("{http://www.w3.org/2000/svg}text")
        if element.text == "Spring 20% off"
    )
    assert headline.get("fill") == "#0a7d3b"


def test_without_dejavu_the_posters_fall_back_to_builtin_fonts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poster_fonts, "FONT_DIRS", (tmp_path / "no-fonts-here",))
    pdf = tmp_path / "poster.pdf"
    pdf.write_bytes(render_poster(SPRING, "sms", "pdf", BASE_URL))
    assert b"/Helvetica-Bold" in pdf.read_bytes()
    assert b"DejaVu" not in pdf.read_bytes()
    assert decode(rasterise_pdf(pdf)) == ["SMSTO:+61480000000:SPRING"]
    png = open_png(render_poster(SPRING, "sms", "png", BASE_URL))
    assert decode(png) == ["SMSTO:+61480000000:SPRING"]


# --- one poster per location --------------------------------------------------------------------


def test_a_locations_file_gives_one_poster_per_row_tracking_its_own_src(tmp_path: Path) -> None:
    csv_path = tmp_path / "locations.csv"
    rows = [
        "src,label",
        "bondi,Bondi Beach",
        'pitt-st,"Shop 12, Pitt Street Mall"',
        "airport_t2,Airport T2",
    ]
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_make(out, "--locations", str(csv_path), fmt="pdf")
    assert result.exit_code == 0, result.output
    expected = {
        "bondi": "Bondi Beach",
        "pitt-st": "Shop 12, Pitt Street Mall",
        "airport_t2": "Airport T2",
    }
    assert printed_paths(result) == [out / f"spring-web-{src}.pdf" for src in expected]
    assert sorted(out.iterdir()) == sorted(printed_paths(result))
    for src, label in expected.items():
        path = out / f"spring-web-{src}.pdf"
        assert decode(rasterise_pdf(path)) == [f"https://selfserve.example.com/q/spring?src={src}"]
        assert label in pdf_text(path)
    assert "Rendering 3 posters" in result.stderr  # the progress bar, kept off stdout


def test_locations_read_an_excel_style_csv(tmp_path: Path) -> None:
    csv_path = tmp_path / "locations.csv"
    csv_path.write_bytes("\ufeffLabel,SRC,notes\r\nCafé Nord, cafe-nord ,x\r\n\r\n".encode())
    assert read_locations(csv_path) == [PosterLocation("cafe-nord", "Café Nord")]


def test_write_posters_reports_progress_once_per_poster(tmp_path: Path) -> None:
    steps: list[int] = []
    locations = [PosterLocation("a", "A"), PosterLocation("b", "B")]
    paths = write_posters(
        SPRING, "sms", "svg", tmp_path, BASE_URL, locations=locations, progress=steps.append
    )
    assert paths == [tmp_path / "spring-sms-a.svg", tmp_path / "spring-sms-b.svg"]
    assert steps == [1, 1]


# --- failures are one clear line ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("", ["is empty"]),
        ("src,label\n", ["no locations"]),
        ("where,label\nbondi,Bondi\n", ["line 1", "missing column 'src'"]),
        ("src\nbondi\n", ["line 1", "missing column 'label'"]),
        ("src,label\nbondi,Bondi\n,Nowhere\n", ["line 3", "src is empty"]),
        ("src,label\nbondi,Bondi\n../etc,Escape\n", ["line 3", "src '../etc'"]),
        ("src,label\nbondi,Bondi\nbondi beach,Beach\n", ["line 3", "src 'bondi beach'"]),
        ("src,label\nbondi,Bondi\nmanly,Manly\nbondi,Again\n", ["line 4", "repeats line 2"]),
        ("src,label\nbondi,Shop 12, Pitt St\n", ["line 2", "double quotes"]),
    ],
)
def test_a_bad_locations_file_is_one_clear_line_and_writes_nothing(
    tmp_path: Path, content: str, fragments: list[str]
) -> None:
    csv_path = tmp_path / "locations.csv"
    csv_path.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    result = run_make(out, "--locations", str(csv_path))
    assert_one_line_error(result, *fragments)
    assert not out.exists()


def test_a_label_too_long_to_print_names_its_src(tmp_path: Path) -> None:
    csv_path = tmp_path / "locations.csv"
    csv_path.write_text(f"src,label\nbondi,Bondi\nmanly,{'Manly ' * 80}\n", encoding="utf-8")
    result = run_make(tmp_path / "out", "--locations", str(csv_path))
    assert_one_line_error(result, "src 'manly'", "location label is too long")


def test_a_locations_file_that_is_not_utf8_is_one_clear_line(tmp_path: Path) -> None:
    csv_path = tmp_path / "locations.csv"
    csv_path.write_bytes("src,label\ncafe,Café\n".encode("cp1252"))
    result = run_make(tmp_path / "out", "--locations", str(csv_path))
    assert_one_line_error(result, "not UTF-8")


def test_a_missing_locations_file_is_one_clear_line(tmp_path: Path) -> None:
    result = run_make(tmp_path, "--locations", str(tmp_path / "nope.csv"))
    assert_one_line_error(result, "cannot read", "nope.csv")


def test_an_unknown_campaign_is_one_clear_line(tmp_path: Path) -> None:
    result = run_make(tmp_path / "out", slug="autumn", fmt="pdf")
    assert_one_line_error(result, "no campaign with slug 'autumn'")
    assert not (tmp_path / "out").exists()


def test_an_unwritable_folder_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    # A folder inside a regular file cannot be made, even by root (chmod would not stop root).
    result = run_make(blocker / "posters", fmt="pdf")
    assert_one_line_error(result, "cannot write to", "a-file")


def test_an_out_path_that_is_a_file_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = run_make(blocker, mode="sms", fmt="svg")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_an_sms_poster_without_a_number_says_which_setting_to_set(tmp_path: Path) -> None:
    result = run_make(tmp_path, slug="comp", mode="sms")
    assert_one_line_error(result, "set TWILIO_FROM_NUMBER or the campaign's sms_number")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("campaign", "fragment"),
    [
        (PosterCampaign("x", "X", "X", "+61480000000", brand_colour="green"), "brand colour"),
        (PosterCampaign("x", "Spring " * 60, "X", "+61480000000"), "too long"),
        (PosterCampaign("x", "Spring", "X", "+61480000000", offer="Save " * 200), "too long"),
        (PosterCampaign("../x", "Spring", "X", "+61480000000"), "campaign slug"),
    ],
)
def test_a_campaign_that_cannot_make_a_poster_is_one_clear_line(
    tmp_path: Path, campaign: PosterCampaign, fragment: str
) -> None:
    result = run_make(tmp_path, slug="x", fmt="pdf", campaigns={"x": campaign})
    assert_one_line_error(result, fragment)
    assert list(tmp_path.iterdir()) == []


def test_src_and_locations_together_are_a_usage_error(tmp_path: Path) -> None:
    csv_path = tmp_path / "locations.csv"
    csv_path.write_text("src,label\nbondi,Bondi\n", encoding="utf-8")
    result = run_make(tmp_path, "--src", "x", "--locations", str(csv_path))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "not both" in result.output
