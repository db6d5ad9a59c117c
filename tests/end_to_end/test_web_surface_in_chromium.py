"""The Content-Security-Policy and WCAG AA contrast in a real Chromium (Debian's, via Playwright).

The main pages are driven as people use them (a customer's landing journey to the coupon, the
phone simulator sending a text through its script, a marketer's console pages) while the page
reports every CSP violation (`securitypolicyviolation` events, recorded by a script Playwright
adds before any of the page's own) and every console error. None is allowed: a policy that
blocked our own script or style would show up here, and a page that needed an inline script
would too.

axe-core (shipped inside the axe-playwright-python wheel, so it runs offline) then checks each
page against WCAG 2 A and AA, colour contrast included.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ARTIFACTS, import_campaigns_text
from tests.console_support import EMAIL, PASSWORD, create_console_user
from tests.phone_visitor import one_time_code
from tests.stand_ins.server import ServedApp

PHONE = "+61491570156"
BRANDED = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING", "BLOOM"]
application_id = 12
campaign_id = 34
identifier = "{customer_id}:{campaign_id}"
reply = "Your Spring code: {code} (valid until {expiry:%d %b})"
offer = "20% off everything in store until the end of spring."
brand_colour = "#0a7d3b"
accent_colour = "#ffd23f"
"""
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(
    event.violatedDirective + " blocked " + (event.blockedURI || "inline") + " on " +
    location.pathname);
});
"""
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: the pages are what these tests look at."""
    path = tmp_path / "selfserve.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def served(app: Any) -> Iterator[ServedApp]:
    """The app on a real port, with a branded campaign and a console user."""
    import_campaigns_text(app, BRANDED)
    create_console_user(app)
    live = ServedApp(app)
    yield live
    live.stop()


class Watched:
    """A browser page whose CSP violations and console errors are collected."""

    def __init__(self, browser: Browser, **options: Any) -> None:
        self.context = browser.new_context(**options)
        self.context.set_default_timeout(15_000)
        self.context.add_init_script(WATCH_VIOLATIONS)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.violations: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and (
            message.location.get("url") == self.page.url
        ):
            return  # the page itself is an error page we asked for (a 404): not a problem
        self.errors.append(f"{message.text} ({message.location.get('url')})")

    def collect(self) -> None:
        """Keep the current document's violations (before navigating away)."""
        self.violations.extend(self.page.evaluate("window.__cspViolations || []"))

    def goto(self, url: str) -> None:
        self.collect()
        self.page.goto(url)

    def assert_clean(self) -> None:
        self.collect()
        assert self.violations == []
        assert self.errors == []

    def assert_accessible(self, name: str) -> None:
        """axe-core finds no WCAG 2 A/AA violation (contrast included) on the current page."""
        results = Axe().run(self.page, options=WCAG_AA)
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"surface-{name}.png"), full_page=True)
        problems = [
            f"{violation['id']}: {[node['html'][:120] for node in violation['nodes'][:3]]}"
            for violation in results.response["violations"]
        ]
        assert problems == [], name


def test_the_landing_journey_runs_under_its_policy(
    browser: Browser, served: ServedApp, twilio_stand_in: Any
) -> None:
    visitor = Watched(
        browser,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = visitor.page
    page.goto(f"{served.url}/q/spring?src=window-1")
    expect(page.get_by_role("heading", name="Spring 20% off")).to_be_visible()
    # The nonce'd <style> applied: the hero has the campaign's brand colour.
    hero = page.locator("header.hero")
    assert hero.evaluate("node => getComputedStyle(node).backgroundColor") == "rgb(10, 125, 59)"
    visitor.assert_accessible("landing")
    page.get_by_label("Mobile number").fill("0491 570 156")
    page.get_by_role("button", name="Text me a code").click()
    expect(page.get_by_label("6-digit code")).to_be_visible()
    visitor.assert_accessible("landing-code")
    sms = _wait(lambda: twilio_stand_in.messages_to(PHONE))[-1]
    page.get_by_label("6-digit code").fill(one_time_code(sms.body))
    page.get_by_role("button", name="Show my code").click()
    copy = page.get_by_role("button", name="Copy code")
    expect(copy).to_be_visible()  # the nonce'd script ran and revealed it
    copy.click()
    expect(page.get_by_role("status")).to_have_text("Copied!")
    visitor.assert_accessible("landing-coupon")
    visitor.goto(f"{served.url}/q/no-such-offer")
    visitor.assert_accessible("landing-404")
    visitor.assert_clean()
    visitor.context.close()


def test_the_simulator_and_console_run_under_their_policy(
    browser: Browser, served: ServedApp
) -> None:
    marketer = Watched(browser, viewport={"width": 1280, "height": 900})
    page = marketer.page
    base = served.url
    page.goto(base + "/")
    marketer.assert_accessible("home")
    marketer.goto(base + "/admin/login")
    marketer.assert_accessible("login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/admin/")

    marketer.goto(base + "/dev/phone")
    marketer.assert_accessible("phone-empty")
    page.fill("#body", "spring")
    page.press("#body", "Enter")  # phone.js posts it with fetch (connect-src 'self')
    expect(page.locator(".bubble.them").last).to_contain_text("Your Spring code:")
    page.get_by_role("button", name="HELP").click()
    expect(page.locator(".bubble.me").last).to_have_text("HELP")
    marketer.assert_accessible("phone-thread")

    for path, name in [
        ("/admin/", "dashboard"),
        ("/admin/campaigns", "campaigns"),
        ("/admin/campaigns/spring", "campaign-form"),
        ("/admin/campaigns/new", "campaign-new"),
        ("/admin/messages", "messages"),
        ("/admin/stats", "stats"),
    ]:
        marketer.goto(base + path)
        marketer.assert_accessible(name)
    page.goto(base + "/admin/campaigns/spring")
    page.click("text=Run a dry-run test")
    expect(page.locator("#test-result")).to_be_visible()
    marketer.assert_accessible("campaign-tested")
    marketer.assert_clean()
    marketer.context.close()


def test_an_inline_script_would_be_caught(browser: Browser, served: ServedApp) -> None:
    """The watch itself works: a script the policy forbids is reported."""
    watched = Watched(browser)
    watched.page.goto(served.url + "/")
    watched.page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.ran = 1'; document.body.appendChild(s); }"
    )
    _wait(lambda: watched.page.evaluate("window.__cspViolations.length"))
    watched.collect()
    assert any(v.startswith("script-src") for v in watched.violations)
    assert watched.page.evaluate("window.ran") is None
    watched.context.close()


def _wait(probe: Any, timeout_seconds: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout_seconds
    while not (value := probe()):
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting")
        time.sleep(0.02)
    return value
