"""QR posters for campaigns: the payload a poster encodes and the poster itself as PNG, SVG or PDF.

Pure rendering: plain values in, bytes or files out. The CLI (`selfserve.commands.posters`)
and the web console both call `render_poster`, so every poster of a campaign looks and scans
the same.
"""

from __future__ import annotations

import csv
import io
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import phonenumbers
import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from selfserve.campaigns import CampaignSpec

MODES = ("sms", "web")
FORMATS = ("png", "svg", "pdf")
PAPERS = ("a4", "letter")

PNG_DPI = 300
NO_BREAK_SPACE = "\u00a0"
QUIET_ZONE_MODULES = 4
# About a tenth of the scanning distance: 1.5 m away, a phone camera still resolves the modules.
MIN_QR_SYMBOL_MM = 110.0
LEGAL_LINE = "Msg&data rates may apply. Reply STOP to opt out."

# Searched in order; the first folder holding both faces wins. Tests replace this to check the
# fallback to Pillow's own font and the PDF standard fonts.
FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
)

# A src names a poster's location in scan statistics and in the file name, so it stays a short
# token that is safe in both: no path separators, no leading dot, no spaces.
_SRC_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_COLOUR_PATTERN = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")

_PAGE_POINTS = {"a4": A4, "letter": LETTER}
_DEFAULT_ACCENT = "#1f2937"
_INK = "#111111"
_SOFT_INK = "#3a3a3a"
_MUTED_INK = "#5c5c5c"
_RULE = "#c8c8c8"
_PAPER_WHITE = "#ffffff"
_MARGIN_X = 54.0
_BAND_HEIGHT = 22.0


class PosterError(Exception):
    """A poster cannot be made; the message is one line a marketer can act on."""


@dataclass(frozen=True)
class PosterCampaign:
    """What a poster shows about one campaign.

    `sms_number` is E.164; the caller resolves it (the campaign's own number, else
    TWILIO_FROM_NUMBER) and passes "" when neither is configured.
    """

    slug: str
    name: str
    keyword: str
    sms_number: str
    offer: str = ""
    terms_url: str = ""
    brand_colour: str = ""


def poster_campaign_from(campaign: CampaignSpec, default_sms_number: str) -> PosterCampaign:
    """What a poster shows about a stored campaign; the CLI and the console both use this.

    The number is the campaign's own `sms_number`, else `default_sms_number`
    (TWILIO_FROM_NUMBER), else "" (then only web posters can be made).
    """
    return PosterCampaign(
        slug=campaign.slug,
        name=campaign.name,
        keyword=campaign.keywords[0] if campaign.keywords else "",
        sms_number=campaign.option("sms_number") or default_sms_number,
        offer=campaign.option("offer", ""),
        terms_url=campaign.option("terms_url", ""),
        brand_colour=campaign.option("brand_colour", ""),
    )


@dataclass(frozen=True)
class PosterLocation:
    """One place a poster hangs: `src` tracks its scans, `label` is printed on it."""

    src: str
    label: str = ""


def qr_payload(campaign: PosterCampaign, mode: str, public_base_url: str, src: str | None) -> str:
    """Return the exact text the poster's QR code encodes.

    "sms" gives `SMSTO:<E.164>:<KEYWORD>`; "web" gives `PUBLIC_BASE_URL/q/<slug>` with
    `?src=<location>` (percent-encoded) when a location is given.
    Raises PosterError for an unknown mode, a missing or malformed number, or a bad base URL.
    """
    if mode == "sms":
        number = _sms_number(campaign)
        if not campaign.keyword.strip():
            raise PosterError(f"campaign {campaign.slug!r} has no keyword to text")
        # Only the first two colons separate fields, and the body is not URL-encoded.
        return f"SMSTO:{number}:{campaign.keyword}"
    if mode == "web":
        base = public_base_url.strip().rstrip("/")
        if not re.match(r"https?://[^/\s]+", base):
            raise PosterError(f"PUBLIC_BASE_URL {public_base_url!r} must start with http(s)://host")
        url = f"{base}/q/{quote(campaign.slug, safe='')}"
        if src:
            url += f"?src={quote(src, safe='')}"
        return url
    raise PosterError(f"unknown poster mode {mode!r}: use one of {', '.join(MODES)}")


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
    fonts = _find_fonts()
    layout = _lay_out(campaign, payload, label or "", _PAGE_POINTS[paper], fonts.measure)
    if fmt == "pdf":
        return _render_pdf(layout, fonts, campaign.name)
    if fmt == "svg":
        return _render_svg(layout, fonts, campaign.name)
    return _render_png(layout, fonts)


def poster_filename(campaign: PosterCampaign, mode: str, fmt: str, src: str | None) -> str:
    """Return the file name of a poster: `<slug>-<mode>[-<src>].<ext>`.

    Raises PosterError when the slug or src would not make a safe file name.
    """
    _check_token(campaign.slug, "campaign slug")
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


def read_locations(path: Path) -> list[PosterLocation]:
    """Read a UTF-8 CSV with the columns `src,label` (any order, extra columns ignored).

    Raises PosterError naming the file and line for a missing file, a missing column, no rows,
    an empty, malformed or repeated src, or a row with more fields than the header.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise PosterError(f"{path}: not UTF-8 text (save the CSV as UTF-8)") from error
    except OSError as error:
        raise PosterError(f"cannot read {path}: {error.strerror or error}") from error
    if not text.strip():
        raise PosterError(f"{path}: the file is empty; expected a header 'src,label' and rows")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as error:
        raise PosterError(f"{path} line {reader.line_num}: {error}") from error
    return _parse_locations(path, header, rows)


def check_src(src: str) -> None:
    """Raise PosterError unless `src` is a valid location token (used in URLs and file names)."""
    _check_token(src, "src")


def _check_token(value: str, what: str) -> None:
    if not _SRC_PATTERN.fullmatch(value):
        raise PosterError(
            f"{what} {value!r} must be 1-64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )


def _make_folder(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:
        raise PosterError(
            f"cannot write to {out_dir}: a file of that name is in the way"
        ) from error
    except OSError as error:
        raise PosterError(f"cannot write to {out_dir}: {error.strerror or error}") from error


def _parse_locations(
    path: Path, header: list[str], rows: list[tuple[int, list[str]]]
) -> list[PosterLocation]:
    missing = [name for name in ("src", "label") if name not in header]
    if missing:
        raise PosterError(
            f"{path} line 1: missing column {', '.join(repr(name) for name in missing)}"
            f" (header must include 'src,label', got {','.join(header)!r})"
        )
    src_at, label_at = header.index("src"), header.index("label")
    locations: list[PosterLocation] = []
    first_line_of: dict[str, int] = {}
    # Line numbers are the reader's physical lines, so a quoted label spanning lines still
    # points the marketer at the right place.
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise PosterError(
                f"{path} line {line}: {len(row)} fields but the header has {len(header)}"
                " (put labels containing commas in double quotes)"
            )
        src = row[src_at].strip() if src_at < len(row) else ""
        label = row[label_at].strip() if label_at < len(row) else ""
        if not src:
            raise PosterError(f"{path} line {line}: src is empty")
        try:
            check_src(src)
        except PosterError as error:
            raise PosterError(f"{path} line {line}: {error}") from None
        if src in first_line_of:
            raise PosterError(
                f"{path} line {line}: src {src!r} repeats line {first_line_of[src]}"
                " (each poster needs its own src)"
            )
        first_line_of[src] = line
        locations.append(PosterLocation(src, label))
    if not locations:
        raise PosterError(f"{path}: no locations under the header 'src,label'")
    return locations


def _sms_number(campaign: PosterCampaign) -> str:
    number = campaign.sms_number.strip()
    if not number:
        raise PosterError(
            f"campaign {campaign.slug!r} has no SMS number: "
            "set TWILIO_FROM_NUMBER or the campaign's sms_number"
        )
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as error:
        raise PosterError(f"SMS number {number!r} is not an E.164 number ({error})") from error
    canonical = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if canonical != number or not phonenumbers.is_possible_number(parsed):
        raise PosterError(f"SMS number {number!r} is not an E.164 number like +61491570156")
    return number


def _national_number(e164: str) -> str:
    parsed = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def _call_to_action(campaign: PosterCampaign) -> str:
    if campaign.sms_number.strip() and campaign.keyword.strip():
        number = _national_number(_sms_number(campaign))
        # No-break spaces keep "0480 000 000" on one line when the text wraps.
        return f"Scan or text {campaign.keyword} to {number.replace(' ', NO_BREAK_SPACE)}"
    return "Scan with your phone camera"


# --- fonts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fonts:
    """The faces every backend uses, and one measure of text width shared by the layout."""

    regular_file: Path | None
    bold_file: Path | None
    pdf_regular: str
    pdf_bold: str

    def measure(self, text: str, size: float, bold: bool) -> float:
        """Width of `text` in points at `size`."""
        return pdfmetrics.stringWidth(text, self.pdf_bold if bold else self.pdf_regular, size)

    def svg_family(self) -> str:
        """The CSS font-family list for SVG text."""
        if self.regular_file is not None:
            return "DejaVu Sans, Verdana, Arial, sans-serif"
        return "Helvetica, Arial, sans-serif"


def _find_fonts() -> _Fonts:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            _register_pdf_font("DejaVuSans", regular)
            _register_pdf_font("DejaVuSans-Bold", bold)
            return _Fonts(regular, bold, "DejaVuSans", "DejaVuSans-Bold")
    # Without DejaVu: the PDF's standard fonts for layout and PDF, Pillow's own font for PNG.
    return _Fonts(None, None, "Helvetica", "Helvetica-Bold")


def _register_pdf_font(name: str, path: Path) -> None:
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(path)))


@lru_cache(maxsize=64)
def _pillow_font(path: Path | None, size_px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size=size_px)
    return ImageFont.truetype(str(path), size=size_px)


# --- layout ----------------------------------------------------------------------------------

Measure = Callable[[str, float, bool], float]


@dataclass(frozen=True)
class _Text:
    """One centred line of text; `baseline` is measured from the top of the page, in points."""

    text: str
    centre_x: float
    baseline: float
    size: float
    bold: bool
    colour: str


@dataclass(frozen=True)
class _Box:
    """A filled rectangle, top-left origin, in points."""

    left: float
    top: float
    width: float
    height: float
    colour: str


@dataclass(frozen=True)
class _Qr:
    """The QR symbol with its quiet zone: `runs` are (row, first column, length) of dark modules."""

    left: float
    top: float
    module: float
    count: int
    runs: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class _Layout:
    width: float
    height: float
    boxes: tuple[_Box, ...]
    texts: tuple[_Text, ...]
    qr: _Qr


@dataclass(frozen=True)
class _Style:
    """How a text may be set: a range of sizes in points, a line limit, weight and colour."""

    largest: float
    smallest: float
    max_lines: int
    bold: bool
    colour: str
    shrink_before_wrapping: float = 1.0


@dataclass(frozen=True)
class _Block:
    """Wrapped lines at one size, before they are placed on the page."""

    lines: tuple[str, ...]
    size: float
    bold: bool
    colour: str
    leading: float

    @property
    def height(self) -> float:
        """Height from the top of the first line to the bottom of the last, in points."""
        return self.size * self.leading * len(self.lines) if self.lines else 0.0


def _lay_out(
    campaign: PosterCampaign,
    payload: str,
    label: str,
    page: tuple[float, float],
    measure: Measure,
) -> _Layout:
    """Place every element on the page, in points from the top-left corner.

    The QR code has priority: long names and offers get smaller type before the code drops under
    MIN_QR_SYMBOL_MM. Raises PosterError when a text cannot fit even then.
    """
    width, height = page
    content_width = width - 2 * _MARGIN_X
    centre = width / 2
    accent = _accent_colour(campaign)
    matrix = _qr_matrix(payload)
    count = len(matrix)
    symbol_count = count - 2 * QUIET_ZONE_MODULES

    def fit(what: str, text: str, style: _Style) -> _Block:
        return _fit(what, text, style, measure, content_width)

    call = fit("call to action", _call_to_action(campaign), _Style(28, 16, 2, True, _INK, 0.75))
    place = fit("location label", label, _Style(16, 10, 2, True, _INK))
    legal_text = LEGAL_LINE + (f"\nTerms: {campaign.terms_url}" if campaign.terms_url else "")
    legal = fit("terms URL", legal_text, _Style(11, 7, 3, False, _MUTED_INK))

    footer: list[_Text] = []
    legal_top = height - 40.0 - legal.height
    footer_top = legal_top - (place.height + 6.0 if place.lines else 0.0)
    _place(place, footer_top, centre, footer)
    _place(legal, legal_top, centre, footer)
    rule_top = footer_top - 14.0

    for text_scale in (1.0, 0.9, 0.8, 0.7, 0.6):
        headline_style = _Style(max(28, 60 * text_scale), 28, 3, True, _headline(accent), 0.75)
        headline = fit("campaign name", campaign.name, headline_style)
        offer = fit(
            "offer", campaign.offer, _Style(max(14, 26 * text_scale), 14, 4, False, _SOFT_INK)
        )
        texts: list[_Text] = []
        top = _place(headline, _BAND_HEIGHT + 48.0, centre, texts)
        if offer.lines:
            top = _place(offer, top + 12.0, centre, texts)
        middle_height = rule_top - 8.0 - top - call.height
        module = min(
            content_width * 0.86 / symbol_count,  # the symbol keeps clear of the side margins
            (width - 24.0) / count,  # the quiet zone may reach into them: it is white anyway
            middle_height / count,
        )
        # Less one pixel per module: the PNG rounds modules down to whole pixels.
        if (module - 72 / PNG_DPI) * symbol_count >= MIN_QR_SYMBOL_MM * 72 / 25.4:
            break
    else:
        raise PosterError(
            "the campaign name and offer are too long to leave room for a QR code that scans "
            "from 1.5 m; shorten them"
        )
    qr_size = module * count
    group_top = top + (middle_height - qr_size) / 2
    qr = _Qr(centre - qr_size / 2, group_top, module, count, tuple(_dark_runs(matrix)))
    # The quiet zone below the symbol already separates it from the call to action.
    _place(call, group_top + qr_size, centre, texts)

    boxes = (
        _Box(0.0, 0.0, width, _BAND_HEIGHT, accent),
        _Box(_MARGIN_X, rule_top, content_width, 0.75, _RULE),
    )
    return _Layout(width, height, boxes, tuple(texts + footer), qr)


def _fit(what: str, text: str, style: _Style, measure: Measure, width: float) -> _Block:
    """Wrap `text` at the largest size that fits within `max_lines` lines.

    With `style.shrink_before_wrapping` below 1, fewer lines are preferred while the size stays
    above that share of `largest`: a headline on one line reads better than two with an orphan.

    A newline starts a new line; no-break spaces (inside a phone number) never wrap.
    Raises PosterError naming `what` when even the smallest size needs more than `max_lines`.
    """
    largest, smallest, max_lines, bold = style.largest, style.smallest, style.max_lines, style.bold
    colour = style.colour
    leading = 1.12 if largest >= 30 else 1.3
    paragraphs = [_words(paragraph) for paragraph in text.splitlines()]
    paragraphs = [words for words in paragraphs if words]
    if not paragraphs:
        return _Block((), largest, bold, colour, leading)
    preferred_smallest = max(smallest, round(largest * style.shrink_before_wrapping))
    attempts = [(count, preferred_smallest) for count in range(1, max_lines)]
    for lines_allowed, floor in [*attempts, (max_lines, smallest)]:
        size = float(largest)
        while size >= floor:
            lines = _wrap_paragraphs(paragraphs, measure, size, bold, width)
            if lines is not None and len(lines) <= lines_allowed:
                return _Block(tuple(lines), size, bold, colour, leading)
            size -= 1.0
    raise PosterError(f"the {what} is too long for the poster ({len(text)} characters); shorten it")


def _words(paragraph: str) -> list[str]:
    # Split on any whitespace except the no-break space.
    return [word for word in re.split(r"[^\S\u00a0]+", paragraph) if word]


def _wrap_paragraphs(
    paragraphs: list[list[str]], measure: Measure, size: float, bold: bool, width: float
) -> list[str] | None:
    """Wrap each paragraph with even line lengths; None when a word is wider than `width`."""
    lines: list[str] = []
    for words in paragraphs:
        wrapped = _wrap(words, lambda line: measure(line, size, bold), width)
        if wrapped is None:
            return None
        lines += _balance(words, wrapped, measure, size, bold, width)
    return lines


def _balance(
    words: list[str], lines: list[str], measure: Measure, size: float, bold: bool, width: float
) -> list[str]:
    """Narrow the wrapping width as far as the line count allows, so lines come out even."""
    narrowest, widest = 0.0, width
    best = lines
    for _ in range(16):
        middle = (narrowest + widest) / 2
        trial = _wrap(words, lambda line: measure(line, size, bold), middle)
        if trial is not None and len(trial) <= len(lines):
            best, widest = trial, middle
        else:
            narrowest = middle
    return best


def _wrap(words: list[str], width_of: Callable[[str], float], width: float) -> list[str] | None:
    """Greedy word wrap; None when a single word is wider than `width`."""
    lines: list[str] = []
    line = ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if width_of(candidate) <= width:
            line = candidate
            continue
        if not line or width_of(word) > width:
            return None
        lines.append(line)
        line = word
    lines.append(line)
    return lines


def _place(block: _Block, top: float, centre: float, texts: list[_Text]) -> float:
    """Append the block's lines below `top`; return the y just under the block."""
    step = block.size * block.leading
    for index, line in enumerate(block.lines):
        # The baseline sits about 0.8 em below the top of a line box for DejaVu and Helvetica.
        baseline = top + index * step + block.size * 0.8 + (step - block.size) / 2
        # No-break spaces only steer wrapping; Pillow's fallback font has no glyph for them.
        printed = line.replace(NO_BREAK_SPACE, " ")
        texts.append(_Text(printed, centre, baseline, block.size, block.bold, block.colour))
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


# --- backends --------------------------------------------------------------------------------


def _render_pdf(layout: _Layout, fonts: _Fonts, title: str) -> bytes:
    buffer = io.BytesIO()
    # invariant: no creation date or random id, so the same poster gives the same bytes.
    canvas = Canvas(buffer, pagesize=(layout.width, layout.height), invariant=True)
    canvas.setTitle(title)
    canvas.setCreator("selfserve")
    for box in layout.boxes:
        canvas.setFillColor(HexColor(box.colour))
        canvas.rect(box.left, layout.height - box.top - box.height, box.width, box.height, 0, 1)
    qr = layout.qr
    canvas.setFillColor(HexColor("#000000"))
    path = canvas.beginPath()
    for row, column, length in qr.runs:
        top = qr.top + row * qr.module
        path.rect(
            qr.left + column * qr.module,
            layout.height - top - qr.module,
            length * qr.module,
            qr.module,
        )
    # One filled path: touching rectangles merge, so viewers show no hairlines between modules.
    canvas.drawPath(path, stroke=0, fill=1)
    for text in layout.texts:
        canvas.setFillColor(HexColor(text.colour))
        canvas.setFont(fonts.pdf_bold if text.bold else fonts.pdf_regular, text.size)
        canvas.drawCentredString(text.centre_x, layout.height - text.baseline, text.text)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _render_svg(layout: _Layout, fonts: _Fonts, title: str) -> bytes:
    millimetres_per_point = 25.4 / 72
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "version": "1.1",
            "width": f"{layout.width * millimetres_per_point:.2f}mm",
            "height": f"{layout.height * millimetres_per_point:.2f}mm",
            "viewBox": f"0 0 {layout.width:.3f} {layout.height:.3f}",
        },
    )
    ET.SubElement(svg, "title").text = title
    ET.SubElement(svg, "rect", {"width": "100%", "height": "100%", "fill": _PAPER_WHITE})
    for box in layout.boxes:
        ET.SubElement(
            svg,
            "rect",
            {
                "x": _number(box.left),
                "y": _number(box.top),
                "width": _number(box.width),
                "height": _number(box.height),
                "fill": box.colour,
            },
        )
    qr = layout.qr
    # The path works in module units, scaled once, so every edge lands on the module grid.
    commands = " ".join(f"M{column} {row}h{length}v1h-{length}z" for row, column, length in qr.runs)
    ET.SubElement(
        svg,
        "path",
        {
            "d": commands,
            "fill": "#000000",
            "shape-rendering": "crispEdges",
            "transform": f"translate({_number(qr.left)} {_number(qr.top)}) "
            f"scale({_number(qr.module)})",
        },
    )
    for text in layout.texts:
        ET.SubElement(
            svg,
            "text",
            {
                "x": _number(text.centre_x),
                "y": _number(text.baseline),
                "font-family": fonts.svg_family(),
                "font-size": _number(text.size),
                "font-weight": "bold" if text.bold else "normal",
                "fill": text.colour,
                "text-anchor": "middle",
            },
        ).text = text.text
    document = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(svg, encoding="unicode")
    return document.encode("utf-8")


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _render_png(layout: _Layout, fonts: _Fonts) -> bytes:
    scale = PNG_DPI / 72
    image = Image.new("RGB", (round(layout.width * scale), round(layout.height * scale)), "white")
    draw = ImageDraw.Draw(image)
    for box in layout.boxes:
        left, top = round(box.left * scale), round(box.top * scale)
        right = max(left, round((box.left + box.width) * scale) - 1)
        bottom = max(top, round((box.top + box.height) * scale) - 1)
        draw.rectangle((left, top, right, bottom), fill=box.colour)
    qr = layout.qr
    # Whole pixels per module keep every module the same size; recentre in the space given.
    module = max(1, math.floor(qr.module * scale))
    offset = (qr.module * scale * qr.count - module * qr.count) / 2
    left, top = round(qr.left * scale + offset), round(qr.top * scale + offset)
    for row, column, length in qr.runs:
        x, y = left + column * module, top + row * module
        draw.rectangle((x, y, x + length * module - 1, y + module - 1), fill="black")
    for text in layout.texts:
        font = _pillow_font(
            fonts.bold_file if text.bold else fonts.regular_file, round(text.size * scale)
        )
        draw.text(
            (text.centre_x * scale, text.baseline * scale),
            text.text,
            font=font,
            fill=text.colour,
            anchor="ms",
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(PNG_DPI, PNG_DPI))
    return buffer.getvalue()
