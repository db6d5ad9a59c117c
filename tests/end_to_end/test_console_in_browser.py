"""The console and the phone simulator in headless Chromium, against the app on a real port.

The app runs as `make run` runs it (built-in Talon.One sandbox, SMS sandbox outbox) with
PUBLIC_BASE_URL set to its own address, so the simulator's signed webhook calls check out
exactly as they would for a newcomer. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from selfserve.ops import Settings
from tests.conftest import ARTIFACTS, SPRING_CAMPAIGNS, import_campaigns_text
from tests.console_support import EMAIL, PASSWORD, create_console_user
from tests.stand_ins.server import ServedApp

TIMEOUT_MS = 15_000
CUSTOMER = "0491 570 006"


class _AppLater:
    """A WSGI app whose real app is set once the port (and so PUBLIC_BASE_URL) is known."""

    app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


@pytest.fixture
def served_sandbox(tmp_path: Path, sqlite_template: Path) -> Iterator[ServedApp]:
    """The sandbox app on a real port with the demo-like campaigns and one console user."""
    database = tmp_path / "selfserve.db"
    shutil.copy(sqlite_template, database)
    later = _AppLater()
    served = ServedApp(later)
    settings = Settings(
        database_url=f"sqlite:///{database}",
        public_base_url=served.url,
        instance_path=str(tmp_path / "instance"),
        default_region="AU",
    ).completed()
    application = create_app(settings)
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    create_console_user(application)
    later.app = application
    yield served
    served.stop()
    application.extensions["selfserve"].close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (its own cookies) and page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def log_in_as_marketer(page: Any, base: str) -> None:
    """The log-in form, and the session cookie it sets."""
    page.goto(base + "/admin/")
    assert page.url.startswith(base + "/admin/login")
    assert page.locator("text=Spring 20% off").count() == 0
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    shot(page, "1-login")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/admin/")
    assert page.locator("h1").inner_text() == "Dashboard"
    cookie = next(c for c in page.context.cookies() if c["name"] == "session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"


def create_autumn_campaign(page: Any, base: str) -> None:
    """A new campaign through the form, then its dry-run test."""
    page.click("nav >> text=Campaigns")
    page.click("text=New campaign")
    page.fill("#f-name", "Autumn treats")
    page.fill("#f-slug", "autumn")
    page.fill("#f-keywords", "AUTUMN")
    page.fill("#f-application_id", "5")
    page.fill("#f-campaign_id", "6")
    page.fill("#f-reply", "Your autumn code: {code}")
    page.click("text=Create campaign")
    page.wait_for_url(base + "/admin/campaigns/autumn")
    assert "Created Autumn treats." in page.locator(".flashes").inner_text()
    page.click("text=Run a dry-run test")
    assert "It works" in page.locator("#test-result").inner_text()
    shot(page, "2-campaign")


def test_a_marketer_creates_a_campaign_texts_it_and_sees_it_logged_and_charted(
    served_sandbox: ServedApp, page: Any
) -> None:
    base = served_sandbox.url
    log_in_as_marketer(page, base)
    create_autumn_campaign(page, base)

    page.goto(base + "/dev/phone")
    page.fill("#number", CUSTOMER)
    page.click("text=Switch")
    page.fill("#body", "autumn")
    page.press("#body", "Enter")
    reply = page.locator(".bubble.them").last
    reply.wait_for()
    assert re.fullmatch(r"Your autumn code: SBX-\w{4}-\w{4}", reply.inner_text())
    shot(page, "3-phone")

    page.goto(base + "/admin/messages")
    row = page.locator("table.data tbody tr").first
    assert "AUTUMN" in row.inner_text()
    assert "+61 4•• ••• •06" in row.inner_text()
    assert "491570006" not in page.content().replace(" ", "")
    shot(page, "4-messages")

    page.click("nav >> text=Stats")
    chart = page.locator("svg.chart#chart-days")
    chart.wait_for()
    assert chart.locator("rect.bar-codes").count() >= 1
    assert page.locator("#stats-table").is_visible()
    shot(page, "5-stats")


def test_the_simulator_works_without_javascript(served_sandbox: ServedApp, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(served_sandbox.url + "/dev/phone?number=" + CUSTOMER.replace(" ", ""))
        page.click("#quick button[value=SPRING]")
        page.wait_for_url(re.compile(r".*/dev/phone\?number=.*"))
        assert page.locator(".bubble.me").last.inner_text() == "SPRING"
        assert page.locator(".bubble.them").last.inner_text().startswith("Your Spring code: SBX-")
        shot(page, "6-phone-without-javascript")
    finally:
        context.close()
