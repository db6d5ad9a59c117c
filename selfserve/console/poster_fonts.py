"""The faces posters are set in: DejaVu Sans when installed, else each backend's own fonts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

# Searched in order; the first folder holding both faces wins. Tests replace this to check the
# fallback to Pillow's own font and the PDF standard fonts.
FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
)


@dataclass(frozen=True)
class Fonts:
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


def find_fonts() -> Fonts:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            _register_pdf_font("DejaVuSans", regular)
            _register_pdf_font("DejaVuSans-Bold", bold)
            return Fonts(regular, bold, "DejaVuSans", "DejaVuSans-Bold")
    # Without DejaVu: the PDF's standard fonts for layout and PDF, Pillow's own font for PNG.
    return Fonts(None, None, "Helvetica", "Helvetica-Bold")


def _register_pdf_font(name: str, path: Path) -> None:
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(path)))


@lru_cache(maxsize=64)
def pillow_font(path: Path | None, size_px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size=size_px)
    return ImageFont.truetype(str(path), size=size_px)
