"""Where everything goes on a poster page, in points from the top-left corner.

The QR code has priority: long names and offers get smaller type before the code drops under
MIN_QR_SYMBOL_MM. The layout is plain values; every backend draws the same one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers
import qrcode
import qrcode.constants

from selfserve.console.poster_payloads import PosterCampaign, PosterError, checked_sms_number
from selfserve.console.poster_typesetting import Block, Measure, Style, fit

PNG_DPI = 300
NO_BREAK_SPACE = "\u00a0"
QUIET_ZONE_MODULES = 4
# About a tenth of the scanning distance: 1.5 m away, a phone camera still resolves the modules.
MIN_QR_SYMBOL_MM = 110.0
LEGAL_LINE = "Msg&data rates may apply. Reply STOP to opt out."

_COLOUR_PATTERN = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_DEFAULT_ACCENT = "#1f2937"
_INK = "#111111"
_SOFT_INK = "#3a3a3a"
_MUTED_INK = "#5c5c5c"
_RULE = "#c8c8c8"
_MARGIN_X = 54.0
_BAND_HEIGHT = 22.0


@dataclass(frozen=True)
class Text:
    """One centred line of text; `baseline` is measured from the top of the page, in points."""

    text: str
    centre_x: float
    baseline: float
    size: float
    bold: bool
    colour: str


@dataclass(frozen=True)
class Box:
    """A filled rectangle, top-left origin, in points."""

    left: float
    top: float
    width: float
    height: float
    colour: str


@dataclass(frozen=True)
class Qr:
    """The QR symbol with its quiet zone: `runs` are (row, first column, length) of dark modules."""

    left: float
    top: float
    module: float
    count: int
    runs: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    boxes: tuple[Box, ...]
    texts: tuple[Text, ...]
    qr: Qr


@dataclass(frozen=True)
class _Frame:
    """The page being laid out, and how its texts are measured."""

    width: float
    height: float
    measure: Measure

    @property
    def content_width(self) -> float:
        """The width between the side margins."""
        return self.width - 2 * _MARGIN_X

    @property
    def centre(self) -> float:
        """The x every line of text is centred on."""
        return self.width / 2

    def fit(self, what: str, text: str, style: Style) -> Block:
        """`text` set within the side margins (see `fit`)."""
        return fit(what, text, style, self.measure, self.content_width)


def lay_out(
    campaign: PosterCampaign,
    payload: str,
    label: str,
    page: tuple[float, float],
    measure: Measure,
) -> Layout:
    """Place every element on the page, in points from the top-left corner.

    The QR code has priority: long names and offers get smaller type before the code drops under
    MIN_QR_SYMBOL_MM. Raises PosterError when a text cannot fit even then.
    """
    frame = _Frame(page[0], page[1], measure)
    accent = _accent_colour(campaign)
    matrix = _qr_matrix(payload)
    count = len(matrix)
    call = frame.fit(
        "call to action", _call_to_action(campaign), Style(28, 16, 2, True, _INK, 0.75)
    )
    footer, rule_top = _lay_out_footer(frame, campaign, label)
    texts, top, module = _lay_out_headline(frame, campaign, accent, count, rule_top, call.height)
    middle_height = rule_top - 8.0 - top - call.height
    qr_size = module * count
    group_top = top + (middle_height - qr_size) / 2
    qr = Qr(frame.centre - qr_size / 2, group_top, module, count, tuple(_dark_runs(matrix)))
    # The quiet zone below the symbol already separates it from the call to action.
    _place(call, group_top + qr_size, frame.centre, texts)

    boxes = (
        Box(0.0, 0.0, frame.width, _BAND_HEIGHT, accent),
        Box(_MARGIN_X, rule_top, frame.content_width, 0.75, _RULE),
    )
    return Layout(frame.width, frame.height, boxes, tuple(texts + footer), qr)


def _lay_out_footer(
    frame: _Frame, campaign: PosterCampaign, label: str
) -> tuple[list[Text], float]:
    """The location label and the legal lines at the foot; returns them and the rule's top."""
    place = frame.fit("location label", label, Style(16, 10, 2, True, _INK))
    legal_text = LEGAL_LINE + (f"\nTerms: {campaign.terms_url}" if campaign.terms_url else "")
    legal = frame.fit("terms URL", legal_text, Style(11, 7, 3, False, _MUTED_INK))

    footer: list[Text] = []
    legal_top = frame.height - 40.0 - legal.height
    footer_top = legal_top - (place.height + 6.0 if place.lines else 0.0)
    _place(place, footer_top, frame.centre, footer)
    _place(legal, legal_top, frame.centre, footer)
    return footer, footer_top - 14.0


def _lay_out_headline(
    frame: _Frame,
    campaign: PosterCampaign,
    accent: str,
    count: int,
    rule_top: float,
    call_height: float,
) -> tuple[list[Text], float, float]:
    """The name and offer at the largest scale that leaves the QR code big enough to scan.

    `count` is the QR code's modules across, quiet zone included. Returns the placed texts, the
    y just under them and the module size in points.
    """
    symbol_count = count - 2 * QUIET_ZONE_MODULES
    for text_scale in (1.0, 0.9, 0.8, 0.7, 0.6):
        headline_style = Style(max(28, 60 * text_scale), 28, 3, True, _headline(accent), 0.75)
        headline = frame.fit("campaign name", campaign.name, headline_style)
        offer = frame.fit(
            "offer", campaign.offer, Style(max(14, 26 * text_scale), 14, 4, False, _SOFT_INK)
        )
        texts: list[Text] = []
        top = _place(headline, _BAND_HEIGHT + 48.0, frame.centre, texts)
        if offer.lines:
            top = _place(offer, top + 12.0, frame.centre, texts)
        middle_height = rule_top - 8.0 - top - call_height
        module = min(
            frame.content_width * 0.86 / symbol_count,  # the symbol keeps clear of the side margins
            (frame.width - 24.0) / count,  # the quiet zone may reach into them: it is white anyway
            middle_height / count,
        )
        # Less one pixel per module: the PNG rounds modules down to whole pixels.
        if (module - 72 / PNG_DPI) * symbol_count >= MIN_QR_SYMBOL_MM * 72 / 25.4:
            return texts, top, module
    raise PosterError(
        "the campaign name and offer are too long to leave room for a QR code that scans "
        "from 1.5 m; shorten them"
    )


def _place(block: Block, top: float, centre: float, texts: list[Text]) -> float:
    """Append the block's lines below `top`; return the y just under the block."""
    step = block.size * block.leading
    for index, line in enumerate(block.lines):
        # The baseline sits about 0.8 em below the top of a line box for DejaVu and Helvetica.
        baseline = top + index * step + block.size * 0.8 + (step - block.size) / 2
        # No-break spaces only steer wrapping; Pillow's fallback font has no glyph for them.
        printed = line.replace(NO_BREAK_SPACE, " ")
        texts.append(Text(printed, centre, baseline, block.size, block.bold, block.colour))
    return top + block.height


def _accent_colour(campaign: PosterCampaign) -> str:
    colour = campaign.brand_colour.strip()
    if not colour:
        return _DEFAULT_ACCENT
    if not _COLOUR_PATTERN.fullmatch(colour):
        raise PosterError(f"brand colour {colour!r} must be a hex colour like #0a7d3b")
    digits = colour[1:].lower()
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    return f"#{digits}"


def _headline(accent: str) -> str:
    """The accent for the headline, unless it is too pale to read on white paper."""
    channels = [int(accent[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    contrast_on_white = 1.05 / (luminance + 0.05)
    return accent if contrast_on_white >= 3.0 else _INK


def _qr_matrix(payload: str) -> list[list[bool]]:
    # Q recovers about 25% damage: posters get creased, taped over and scanned at an angle.
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_Q, border=QUIET_ZONE_MODULES
    )
    code.add_data(payload)
    code.make(fit=True)
    return code.get_matrix()


def _dark_runs(matrix: list[list[bool]]) -> Iterator[tuple[int, int, int]]:
    """Yield horizontal runs of dark modules, so backends draw few shapes and no seams."""
    for row_index, row in enumerate(matrix):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            yield row_index, start, column - start


def _national_number(e164: str) -> str:
    parsed = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def _call_to_action(campaign: PosterCampaign) -> str:
    if campaign.sms_number.strip() and campaign.keyword.strip():
        number = _national_number(checked_sms_number(campaign))
        # No-break spaces keep "0480 000 000" on one line when the text wraps.
        return f"Scan or text {campaign.keyword} to {number.replace(' ', NO_BREAK_SPACE)}"
    return "Scan with your phone camera"
