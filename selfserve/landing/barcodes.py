"""Barcode pictures of a coupon code, for the till's scanner: Code 128 or QR, PNG or SVG.

Code 128 comes from python-barcode, QR from qrcode (already used for posters and the
landing page): maintained encoders, never bars drawn by hand. Both leave a white quiet zone
around the symbol, which scanners need. The code itself is printed beside the barcode by
the page, not inside the picture, so the picture needs no font.
"""

from __future__ import annotations

import io

import barcode
import qrcode
import qrcode.image.svg
from barcode.writer import ImageWriter, SVGWriter

CODE128 = "code128"
QR = "qr"
FORMATS = ("png", "svg")

# Bars wide enough for a phone screen held under a till's scanner (module width in mm at
# the writer's dpi), and a quiet zone of ten modules each side as Code 128 asks.
_CODE128_OPTIONS = {
    "module_width": 0.4,
    "module_height": 18.0,
    "quiet_zone": 4.0,
    "write_text": False,
    "dpi": 200,
}


def barcode_image(code: str, kind: str, image_format: str) -> bytes:
    """The code as a `kind` ("code128" or "qr") barcode, as PNG or SVG bytes.

    Raises ValueError for a kind or format we do not draw (or a code Code 128 cannot hold).
    """
    if image_format not in FORMATS:
        raise ValueError(f"unknown image format {image_format!r}")
    if kind == CODE128:
        return _code128(code, image_format)
    if kind == QR:
        return _qr(code, image_format)
    raise ValueError(f"no barcode of kind {kind!r}")


def _code128(code: str, image_format: str) -> bytes:
    writer = ImageWriter(format="PNG") if image_format == "png" else SVGWriter()
    symbol = barcode.get_barcode_class("code128")(code, writer=writer)
    out = io.BytesIO()
    symbol.write(out, options=_CODE128_OPTIONS)
    return out.getvalue()


def _qr(code: str, image_format: str) -> bytes:
    factory = None if image_format == "png" else qrcode.image.svg.SvgPathFillImage
    image = qrcode.make(
        code,
        image_factory=factory,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
        box_size=10,
    )
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
