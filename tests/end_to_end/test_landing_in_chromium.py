"""The QR landing journey in a real headless Chromium (Debian's), driven by Playwright.

The browser is conftest's session-wide `browser` fixture (one Chromium for the whole run).

A phone-sized browser opens the poster URL, types a number, reads the one-time code from the
Twilio stand-in (or the sandbox outbox), and sees the coupon. Screenshots go to
test-artifacts/ (not in git); the coupon page's QR code is decoded from the screenshot.
"""

from __future__ import annotations

import io
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from pyzbar import pyzbar
from sqlalchemy import select

from app import create_app
from selfserve.models import ConsentRecord, OutboundMessage
from tests.conftest import ARTIFACTS, import_campaigns_text
from tests.phone_visitor import IPHONE, one_time_code
from tests.stand_ins.server import ServedApp

PHONE = "+61491570156"
T = TypeVar("T")

BRANDED_SPRING = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING", "BLOOM"]
application_id = 12
campaign_id = 34
external_campaign_id = "sms-spring"
identifier = "{customer_id}:{campaign_id}"
recipient = true
reply = "Your Spring code: {code} (valid until {expiry:%d %b})"
offer = "20% off everything in store until the end of spring."
brand_colour = "#0a7d3b"
accent_colour = "#ffd23f"
"""


def wait_for(probe: Callable[[], T], timeout_seconds: float = 5.0) -> T:
    """Poll `probe` until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting")
        time.sleep(0.02)


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only here: the pages are what these tests drive, and the Flask-level tests run
    every database path on PostgreSQL too."""
    path = tmp_path / "selfserve.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def served(app) -> Iterator[ServedApp]:
    """The app, with a branded spring campaign, on a real port."""
    import_campaigns_text(app, BRANDED_SPRING)
    live = ServedApp(app)
    yield live
    live.stop()


def phone_page(browser: Browser, **options: Any) -> Page:
    """A page in a fresh phone-sized context (Pixel-like unless told otherwise)."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        user_agent=options.pop(
            "user_agent",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36",
        ),
        **options,
    )
    return context.new_page()


def screenshot(page: Page, name: str) -> bytes:
    """Save a full-page screenshot under test-artifacts/ and return it."""
    ARTIFACTS.mkdir(exist_ok=True)
    return page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def ask_for_a_code(page: Page, url: str, number: str = "0491 570 156") -> None:
    """Open the poster URL and send the number form."""
    page.goto(url)
    page.get_by_label("Mobile number").fill(number)
    page.get_by_role("button", name="Text me a code").click()
    expect(page.get_by_label("6-digit code")).to_be_visible()


def test_scan_number_code_coupon(browser, served, twilio_stand_in, talon_stand_in):
    page = phone_page(browser)
    page.goto(f"{served.url}/q/spring?src=window-1")
    expect(page.get_by_role("heading", name="Spring 20% off")).to_be_visible()
    expect(page.get_by_role("link", name="Text SPRING to 0480 000 000 instead")).to_have_attribute(
        "href", "sms:+61480000000?body=SPRING"
    )
    screenshot(page, "landing-page.png")
    ask_for_a_code(page, f"{served.url}/q/spring?src=window-1")
    screenshot(page, "landing-code-form.png")
    sms = wait_for(lambda: twilio_stand_in.messages_to(PHONE))[-1]
    page.get_by_label("6-digit code").fill(one_time_code(sms.body))
    page.get_by_role("button", name="Show my code").click()

    [coupon] = talon_stand_in.coupons.values()
    expect(page.locator("#coupon-code")).to_have_text(coupon["Value"])
    copy = page.get_by_role("button", name="Copy code")
    expect(copy).to_be_visible()  # JavaScript revealed it
    picture = screenshot(page, "landing-coupon.png")
    decoded = pyzbar.decode(Image.open(io.BytesIO(picture)))
    assert [symbol.data.decode() for symbol in decoded] == [coupon["Value"]]
    assert "/q/spring/verify" in page.url
    assert "491570156" not in page.url


def test_ticking_the_offers_box_records_web_consent_once_the_code_is_confirmed(
    browser, app, served, twilio_stand_in
):
    def consent_records() -> list[ConsentRecord]:
        with app.extensions["selfserve"].sessions() as db:
            return db.scalars(select(ConsentRecord)).all()

    page = phone_page(browser)
    page.goto(f"{served.url}/q/spring?src=window-1")
    offers = page.get_by_role("checkbox", name="Send me offers by SMS")
    expect(offers).not_to_be_checked()
    expect(offers).to_have_accessible_description(re.compile(r"^Marketing texts from Acme"))
    page.get_by_text("Send me offers by SMS", exact=True).click()  # the label ticks it
    expect(offers).to_be_checked()
    screenshot(page, "landing-offers-ticked.png")
    page.get_by_label("Mobile number").fill("0491 570 156")
    page.get_by_role("button", name="Text me a code").click()
    sms = wait_for(lambda: twilio_stand_in.messages_to(PHONE))[-1]
    assert consent_records() == []  # nothing until the code is confirmed
    page.get_by_label("6-digit code").fill(one_time_code(sms.body))
    page.get_by_role("button", name="Show my code").click()
    expect(page.locator("#coupon-code")).to_have_text(re.compile(r"^T1-"))
    [record] = consent_records()
    assert (record.state, record.method) == ("consented", "web")
    assert (record.campaign_slug, record.source) == ("spring", "window-1")
    assert record.wording == app.extensions["selfserve"].landing.consent_wording.full
    assert record.phone_e164 == PHONE


def test_the_copy_button_puts_the_code_on_the_clipboard(browser, served, twilio_stand_in):
    page = phone_page(browser, permissions=["clipboard-read", "clipboard-write"])
    ask_for_a_code(page, f"{served.url}/q/spring")
    sms = wait_for(lambda: twilio_stand_in.messages_to(PHONE))[-1]
    page.get_by_label("6-digit code").fill(one_time_code(sms.body))
    page.get_by_role("button", name="Show my code").click()
    code = page.locator("#coupon-code").inner_text().strip()
    page.get_by_role("button", name="Copy code").click()
    expect(page.get_by_role("status")).to_have_text("Copied!")
    assert page.evaluate("navigator.clipboard.readText()") == code


def test_a_wrong_code_is_refused_in_the_browser(browser, served, twilio_stand_in, talon_stand_in):
    page = phone_page(browser)
    ask_for_a_code(page, f"{served.url}/q/spring")
    code = one_time_code(wait_for(lambda: twilio_stand_in.messages_to(PHONE))[-1].body)
    page.get_by_label("6-digit code").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="Show my code").click()
    expect(page.get_by_role("alert")).to_have_text("That code didn't match. You have 4 more tries.")
    expect(page.get_by_label("6-digit code")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#coupon-code")).to_have_count(0)
    screenshot(page, "landing-wrong-code.png")
    assert talon_stand_in.requests == []


def test_five_wrong_codes_lock_it_until_a_new_one_is_sent(
    browser, served, twilio_stand_in, talon_stand_in
):
    page = phone_page(browser)
    ask_for_a_code(page, f"{served.url}/q/spring")
    code = one_time_code(wait_for(lambda: twilio_stand_in.messages_to(PHONE))[-1].body)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        page.get_by_label("6-digit code").fill(wrong)
        page.get_by_role("button", name="Show my code").click()
    expect(page.get_by_role("alert")).to_contain_text("no longer works")
    screenshot(page, "landing-locked.png")
    # The right code is refused now too.
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Show my code").click()
    expect(page.get_by_role("alert")).to_contain_text("no longer works")
    expect(page.locator("#coupon-code")).to_have_count(0)
    assert talon_stand_in.requests == []
    # A new code works.
    page.get_by_role("button", name="Send me a new code").click()
    expect(page.get_by_role("status")).to_contain_text("We've sent a new code")
    wait_for(lambda: len(twilio_stand_in.messages_to(PHONE)) == 2)
    page.get_by_label("6-digit code").fill(one_time_code(twilio_stand_in.messages[-1].body))
    page.get_by_role("button", name="Show my code").click()
    expect(page.locator("#coupon-code")).to_have_text(re.compile(r"^T1-"))


def test_the_whole_journey_works_without_javascript(browser, served, twilio_stand_in):
    page = phone_page(browser, java_script_enabled=False, user_agent=IPHONE)
    page.goto(f"{served.url}/q/spring")
    expect(page.get_by_role("link", name="Text SPRING to 0480 000 000 instead")).to_have_attribute(
        "href", "sms:+61480000000&body=SPRING"
    )
    ask_for_a_code(page, f"{served.url}/q/spring")
    sms = wait_for(lambda: twilio_stand_in.messages_to(PHONE))[-1]
    page.get_by_label("6-digit code").fill(one_time_code(sms.body))
    page.get_by_role("button", name="Show my code").click()
    expect(page.locator("#coupon-code")).to_have_text(re.compile(r"^T1-"))
    expect(page.get_by_role("button", name="Copy code")).to_be_hidden()


def test_make_run_mode_reads_the_code_from_the_sandbox_outbox(browser, sandbox_settings):
    application = create_app(sandbox_settings)
    import_campaigns_text(application, BRANDED_SPRING)
    live = ServedApp(application)
    services = application.extensions["selfserve"]
    try:
        page = phone_page(browser)
        ask_for_a_code(page, f"{live.url}/q/spring?src=till-1")

        def outbox_code() -> str | None:
            with services.sessions() as db:
                body = db.scalar(
                    select(OutboundMessage.body).where(OutboundMessage.to_e164 == PHONE)
                )
            return one_time_code(body) if body else None

        page.get_by_label("6-digit code").fill(wait_for(outbox_code))
        page.get_by_role("button", name="Show my code").click()
        expect(page.locator("#coupon-code")).to_have_text(re.compile(r"^SBX-"))
    finally:
        live.stop()
        services.close()


CONTRAST_OF_RENDERED_TEXT = """
() => {
  const parse = (c) => c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor;
      if (c && !c.startsWith("rgba(0, 0, 0, 0)") && c !== "transparent") return c;
    }
    return "rgb(255, 255, 255)";
  };
  const worst = [];
  for (const el of document.querySelectorAll("h1, h2, p, a, button, label, span, strong")) {
    if (!el.textContent.trim() || el.offsetParent === null) continue;
    const [a, b] = [lum(parse(getComputedStyle(el).color)), lum(parse(background(el)))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    worst.push([ratio, el.tagName + " " + el.textContent.trim().slice(0, 30)]);
  }
  return worst.sort((x, y) => x[0] - y[0]).slice(0, 3);
}
"""


def test_every_field_has_a_label_and_all_text_keeps_its_contrast(browser, served, twilio_stand_in):
    page = phone_page(browser)
    ask_for_a_code(page, f"{served.url}/q/spring")
    for url in (f"{served.url}/q/spring", f"{served.url}/q/spring/verify"):
        page.goto(url)
        unlabelled = page.evaluate(
            "() => [...document.querySelectorAll('input:not([type=hidden])')]"
            ".filter(i => i.labels.length === 0).map(i => i.name)"
        )
        assert unlabelled == []
        worst = page.evaluate(CONTRAST_OF_RENDERED_TEXT)
        assert worst[0][0] >= 4.5, worst
    page.get_by_label("6-digit code").fill(
        one_time_code(twilio_stand_in.messages_to(PHONE)[-1].body)
    )
    page.get_by_role("button", name="Show my code").click()
    expect(page.locator("#coupon-code")).to_be_visible()
    worst = page.evaluate(CONTRAST_OF_RENDERED_TEXT)
    assert worst[0][0] >= 4.5, worst
