"""What a poster's QR code says (smsto: or the landing URL), and its PNG, PDF and SVG files."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from selfserve.console import (
    PosterCampaign,
    PosterError,
    qr_payload,
    render_poster,
)
from tests.posters.conftest import (
    BASE_URL,
    NO_NUMBER,
    SPRING,
    decode,
    decoded_by_every_reader,
    open_png,
    pdf_page_points,
    printed_paths,
    rasterise_pdf,
    run_make,
    tool,
)


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
