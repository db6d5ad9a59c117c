"""A poster a shop can print: the QR's size, quiet zone and error correction, words, fonts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pyzbar import pyzbar

from selfserve.console import (
    PosterCampaign,
    poster_fonts,
    render_poster,
)
from tests.posters.conftest import (
    BASE_URL,
    MM_PER_INCH,
    NO_NUMBER,
    SPRING,
    WORDY,
    decode,
    is_dark,
    module_grid,
    open_png,
    pdf_text,
    rasterise_pdf,
    svg_texts,
)


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
