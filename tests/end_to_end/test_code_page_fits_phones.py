"""The code page (/c/<token>) on phones 320-430 px wide and a till's desktop, in Chromium;
the landing page's code view too.

The one screen a cashier looks at: the code on ONE line and as large as the ticket allows,
the barcode (with its white quiet zone) inside the card, scannable from a screenshot. The
code is the longest kind a campaign issues (19 characters, `SBX-SP2D-VDYD-7KQ2X`), from the
Talon.One stand-in on a real socket; the link comes from a signed text's reply.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser
from pyzbar import pyzbar

from tests.conftest import (
    PUBLIC_BASE_URL,
    import_campaigns_text,
    reply_text,
    send_text,
    wait_for,
)
from tests.phone_visitor import one_time_code
from tests.stand_ins.server import ServedApp
from tests.stand_ins.talon import DEFAULT_EXPIRY_DATE, DEFAULT_START_DATE

LONG_CODE = "SBX-SP2D-VDYD-7KQ2X"
WIDTHS = [320, 375, 390, 430]
CAMPAIGN = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING"]
application_id = 12
campaign_id = 34
offer = "20% off everything in store until the end of spring."
reply = "Your Spring code: {code}. Show it at the till: {code_url}"
barcode = "BARCODE"
"""
LINK = re.compile(re.escape(PUBLIC_BASE_URL) + r"(/c/[A-Za-z0-9_-]+)")

# Measured in the page: the code's text as laid out (one client rect per line box), the
# ticket's content box, the card, the barcode's white box and its picture.
MEASURE = """() => {
  const box = (element) => {
    const r = element.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width};
  };
  const code = document.querySelector(".code-text");
  const text = document.createRange();
  text.selectNodeContents(code);
  const ticket = document.querySelector(".ticket");
  const style = getComputedStyle(ticket);
  const inner = ticket.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const barcode = document.querySelector(".barcode-box");
  const picture = document.querySelector("img.barcode");
  return {
    lines: new Set([...text.getClientRects()].map((r) => Math.round(r.top))).size,
    text: box(text), ticket: box(ticket), ticketInner: inner,
    card: box(document.querySelector(".card")),
    barcode: barcode && box(barcode), picture: picture && box(picture),
    loaded: !!picture && picture.complete && picture.naturalWidth > 0,
    fontPx: parseFloat(getComputedStyle(code).fontSize),
    pageWiderThanScreen: document.documentElement.scrollWidth > window.innerWidth,
  };
}"""


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: the layout is what is measured here (test_code_pages.py covers databases)."""
    path = tmp_path / "selfserve.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def long_coupon() -> dict[str, Any]:
    """A Talon.One coupon answer whose code is 19 characters long."""
    return {
        "ID": 20190408,
        "ApplicationID": 12,
        "CampaignID": 34,
        "Value": LONG_CODE,
        "StartDate": DEFAULT_START_DATE,
        "ExpiryDate": DEFAULT_EXPIRY_DATE,
        "RecipientIntegrationID": "",
        "UsageLimit": 1,
        "Attributes": {},
    }


def code_page_path(app, client, talon_stand_in, barcode: str) -> str:
    """Text SPRING (Talon.One gives the long code); the code page's path from the reply."""
    import_campaigns_text(app, CAMPAIGN.replace("BARCODE", barcode))
    talon_stand_in.answer_next(200, long_coupon())
    reply = reply_text(send_text(client, "SPRING")) or ""
    link = LINK.search(reply)
    assert LONG_CODE in reply
    assert link is not None, reply
    return link.group(1)


@pytest.fixture
def served(app) -> Iterator[ServedApp]:
    """The app on a real port."""
    live = ServedApp(app)
    yield live
    live.stop()


def measured(browser: Browser, url: str, width: int) -> tuple[dict[str, Any], bytes]:
    """The page's measurements at `width` CSS pixels, and a screenshot of its barcode."""
    phone = width < 600
    context = browser.new_context(
        viewport={"width": width, "height": 800},
        device_scale_factor=2,
        is_mobile=phone,
        has_touch=phone,
    )
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("document.querySelector('img.barcode').complete")
        sizes = page.evaluate(MEASURE)
        picture = page.locator(".barcode-box").screenshot()
        return sizes, picture
    finally:
        context.close()


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    """`inner` lies within `outer` (half a pixel of rounding allowed)."""
    return (
        inner["left"] >= outer["left"] - 0.5
        and inner["right"] <= outer["right"] + 0.5
        and inner["top"] >= outer["top"] - 0.5
        and inner["bottom"] <= outer["bottom"] + 0.5
    )


@pytest.mark.parametrize("barcode", ["code128", "qr"])
@pytest.mark.parametrize("width", [*WIDTHS, 1280])
def test_the_code_is_one_large_line_and_the_barcode_lies_inside_the_card(
    browser, app, client, talon_stand_in, served, barcode, width
):
    url = served.url + code_page_path(app, client, talon_stand_in, barcode)
    sizes, picture = measured(browser, url, width)

    assert sizes["lines"] == 1, sizes
    assert inside(sizes["text"], sizes["ticket"]), sizes
    # As large as fits: the code fills most of the ticket, or has reached its largest size.
    assert sizes["text"]["width"] >= 0.8 * sizes["ticketInner"] or sizes["fontPx"] >= 41, sizes
    assert sizes["fontPx"] >= 18, sizes  # readable at arm's length, even at 320 px
    assert sizes["loaded"], sizes
    assert inside(sizes["barcode"], sizes["card"]), sizes
    assert inside(sizes["picture"], sizes["barcode"]), sizes
    assert not sizes["pageWiderThanScreen"], sizes
    symbols = pyzbar.decode(Image.open(io.BytesIO(picture)))
    assert [symbol.data.decode() for symbol in symbols] == [LONG_CODE]


def test_the_landing_pages_code_view_fits_every_phone_width(
    browser, app, talon_stand_in, twilio_stand_in, served
):
    """The coupon a QR visitor sees after the one-time code: the same ticket and barcode."""
    import_campaigns_text(app, CAMPAIGN.replace("BARCODE", "code128"))
    talon_stand_in.answer_next(200, long_coupon())
    context = browser.new_context(viewport={"width": 320, "height": 800}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{served.url}/q/spring")
    page.get_by_label("Mobile number").fill("0491 570 156")
    page.get_by_role("button", name="Text me a code").click()
    page.get_by_label("6-digit code").wait_for()
    sms = wait_for(lambda: twilio_stand_in.messages_to("+61491570156"))[-1]
    page.get_by_label("6-digit code").fill(one_time_code(sms.body))
    page.get_by_role("button", name="Show my code").click()
    page.locator("#coupon-code").wait_for()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_function("document.querySelector('img.barcode').complete")
        sizes = page.evaluate(MEASURE)
        assert sizes["lines"] == 1, (width, sizes)
        assert inside(sizes["text"], sizes["ticket"]), (width, sizes)
        assert sizes["text"]["width"] >= 0.8 * sizes["ticketInner"], (width, sizes)
        assert inside(sizes["barcode"], sizes["card"]), (width, sizes)
        assert not sizes["pageWiderThanScreen"], (width, sizes)
    context.close()
