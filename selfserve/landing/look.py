"""How a landing page looks: brand colours kept readable, the code's QR, the sms: link.

Pure functions of their values, no database: the handlers and the claim both use them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import quote

import qrcode
import qrcode.image.svg

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


DEFAULT_BRAND = "#14532d"


DEFAULT_ACCENT = "#b45309"


WHITE = "#ffffff"


INK = "#111111"


@dataclass(frozen=True)
class Palette:
    """Brand colours with text colours that keep WCAG AA contrast (4.5:1) on them."""

    brand: str
    on_brand: str
    accent: str
    on_accent: str
    accent_ink: str  # the accent, darkened if needed, for links and outlines on white


def sms_uri(phone_e164: str, body: str, ios: bool) -> str:
    """An `sms:` link with the body pre-filled: iOS wants `&body=`, RFC 5724 `?body=`."""
    return f"sms:{phone_e164}{'&' if ios else '?'}body={quote(body, safe='')}"


def whatsapp_uri(phone_e164: str, body: str) -> str:
    """A wa.me link that opens a WhatsApp chat with `phone_e164` and `body` typed."""
    return f"https://wa.me/{phone_e164.lstrip('+')}?text={quote(body, safe='')}"


def code_qr_svg(code: str) -> str:
    """An inline SVG QR code of a coupon code, for the till's scanner (white quiet zone)."""
    image = qrcode.make(
        code,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
    )
    svg = image.to_string(encoding="unicode")
    # Sized by the page's CSS instead of in millimetres, and named for screen readers.
    opening = re.match(r"<svg\b[^>]*>", svg)
    assert opening is not None  # noqa: S101 - qrcode always writes one <svg> element
    attributes = re.sub(r'\s(width|height)="[^"]*"', "", opening.group(0)[len("<svg") : -1])
    label = html.escape(f"QR code of your code {code}", quote=True)
    return (
        f'<svg{attributes} role="img" aria-label="{label}" class="qr" '
        f'shape-rendering="crispEdges">' + svg[opening.end() :]
    )


def safe_logo_url(url: str) -> str:
    """An https/http URL or a site path; anything else (javascript:, data:) is dropped."""
    url = url.strip()
    if re.match(r"^https?://[^\s\"'<>]+$", url) or re.match(r"^/[^/\\\s\"'<>][^\s\"'<>]*$", url):
        return url
    return ""


def palette_for(brand: str, accent: str) -> Palette:
    """The page's colours from the campaign's; text colours chosen for contrast."""
    brand = brand if _HEX.match(brand or "") else DEFAULT_BRAND
    accent = (
        accent
        if _HEX.match(accent or "")
        else (brand if brand != DEFAULT_BRAND else DEFAULT_ACCENT)
    )
    return Palette(
        brand=brand.lower(),
        on_brand=readable_on(brand),
        accent=accent.lower(),
        on_accent=readable_on(accent),
        accent_ink=(
            accent.lower()
            if contrast_ratio(accent, WHITE) >= 4.5
            else brand.lower()
            if contrast_ratio(brand, WHITE) >= 4.5
            else darken_until_readable(accent, WHITE)
        ),
    )


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_on(background: str) -> str:
    """White or near-black, whichever reads better on `background`."""
    return WHITE if contrast_ratio(WHITE, background) >= contrast_ratio(INK, background) else INK


def darken_until_readable(colour: str, background: str, ratio: float = 4.5) -> str:
    """`colour`, mixed with black step by step until it reaches `ratio` on `background`."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(11):
        keep = 1 - step / 10
        mixed = f"#{round(red * keep):02x}{round(green * keep):02x}{round(blue * keep):02x}"
        if contrast_ratio(mixed, background) >= ratio:
            return mixed
    return INK


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)
