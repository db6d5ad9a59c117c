"""What the landing pages are made of: readable brand colours, the sms: link, the code's QR."""

from __future__ import annotations

import io

import cairosvg
import pytest
from PIL import Image
from pyzbar import pyzbar

from selfserve.landing import (
    code_qr_svg,
    contrast_ratio,
    darken_until_readable,
    palette_for,
    safe_logo_url,
    sms_uri,
)

BRANDS = ["#0a7d3b", "#ffd23f", "#ffffff", "#000000", "#e63946", "#1d3557", "#f1faee", "#888888"]


@pytest.mark.parametrize("brand", BRANDS)
@pytest.mark.parametrize("accent", BRANDS + [""])
def test_every_palette_keeps_text_readable(brand, accent):
    palette = palette_for(brand, accent)
    assert contrast_ratio(palette.on_brand, palette.brand) >= 4.5
    assert contrast_ratio(palette.on_accent, palette.accent) >= 4.5
    assert contrast_ratio(palette.accent_ink, "#ffffff") >= 4.5


def test_a_missing_or_malformed_colour_falls_back_to_the_house_style():
    assert palette_for("", "").brand == palette_for("red", "#12345").brand == "#14532d"


def test_contrast_matches_the_wcag_reference_values():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)


def test_darkening_stops_as_soon_as_the_colour_reads():
    assert darken_until_readable("#0a7d3b", "#ffffff") == "#0a7d3b"
    darker = darken_until_readable("#ffd23f", "#ffffff")
    assert darker != "#ffd23f"
    assert contrast_ratio(darker, "#ffffff") >= 4.5


@pytest.mark.parametrize(
    ("ios", "expected"),
    [(True, "sms:+61480000000&body=SPRING%20NOW"), (False, "sms:+61480000000?body=SPRING%20NOW")],
)
def test_sms_links_follow_each_platform(ios, expected):
    assert sms_uri("+61480000000", "SPRING NOW", ios=ios) == expected


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://shop.example.com/logo.png", True),
        ("/static/logo.svg", True),
        ("javascript:alert(1)", False),
        ("data:image/svg+xml,<svg onload=alert(1)>", False),
        ('https://x.example/"onerror="alert(1)', False),
        ("//evil.example/logo.png", False),
        ("", False),
    ],
)
def test_only_web_addresses_and_site_paths_are_logo_urls(url, kept):
    assert safe_logo_url(url) == (url if kept else "")


@pytest.mark.parametrize("code", ["T1-8F3A2C1B", "SBX-ABCD-EFGH", "SPRING-2026-X9"])
def test_the_coupon_qr_decodes_to_the_code(code):
    svg = code_qr_svg(code)
    assert svg.startswith("<svg ")
    assert 'width="' not in svg.split(">", 1)[0]  # sized by the page
    png = cairosvg.svg2png(bytestring=svg.encode(), output_width=400, output_height=400)
    [symbol] = pyzbar.decode(Image.open(io.BytesIO(png)).convert("L"))
    assert symbol.data.decode() == code


def test_the_qr_label_escapes_odd_codes():
    svg = code_qr_svg('A"<b>')
    assert 'aria-label="QR code of your code A&quot;&lt;b&gt;"' in svg
