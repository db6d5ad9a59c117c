"""Drawing a laid-out poster: PDF and SVG with a vector QR code, PNG at PNG_DPI."""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET

from PIL import Image, ImageDraw
from reportlab.lib.colors import HexColor
from reportlab.pdfgen.canvas import Canvas

from selfserve.console.poster_fonts import Fonts, pillow_font
from selfserve.console.poster_layout import PNG_DPI, Layout, Qr

_PAPER_WHITE = "#ffffff"


def render_pdf(layout: Layout, fonts: Fonts, title: str) -> bytes:
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


def render_svg(layout: Layout, fonts: Fonts, title: str) -> bytes:
    """The poster as an SVG document sized in millimetres, its QR code one path."""
    svg = _svg_page(layout, title)
    _draw_svg_qr(svg, layout.qr)
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


def _svg_page(layout: Layout, title: str) -> ET.Element:
    """The <svg> root with its title, the white paper and the layout's boxes."""
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
    return svg


def _draw_svg_qr(svg: ET.Element, qr: Qr) -> None:
    """The QR code's dark modules as one path."""
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


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def render_png(layout: Layout, fonts: Fonts) -> bytes:
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
        font = pillow_font(
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
