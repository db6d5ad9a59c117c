"""Roles and the audit trail in headless Chromium: a viewer, an editor and an owner."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from selfserve.ops import Settings
from tests.conftest import SPRING_CAMPAIGNS, import_campaigns_text
from tests.console_support import PASSWORD, create_console_user
from tests.stand_ins.server import ServedApp

TIMEOUT_MS = 15_000
OWNER, EDITOR, VIEWER = "owner@acme.example", "editor@acme.example", "viewer@acme.example"
NEW_REPLY = "Spring has sprung: {code}"


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path) -> Iterator[ServedApp]:
    """The sandbox app on a real port with one user of each role."""
    database = tmp_path / "selfserve.db"
    shutil.copy(sqlite_template, database)
    settings = Settings(
        database_url=f"sqlite:///{database}",
        instance_path=str(tmp_path / "instance"),
    ).completed()
    application = create_app(settings)
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    for email, role in ((OWNER, "owner"), (EDITOR, "editor"), (VIEWER, "viewer")):
        create_console_user(application, email, PASSWORD, role)
    served_app = ServedApp(application)
    yield served_app
    served_app.stop()
    application.extensions["selfserve"].close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Pages with their own cookies, one per user."""
    contexts = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/admin/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/admin/")


def test_a_viewer_sees_no_edit_control_and_an_editor_edits_what_the_owner_then_audits(
    served: ServedApp, new_page: Any
) -> None:
    base = served.url
    viewer = new_page()
    log_in(viewer, base, VIEWER)
    viewer.goto(base + "/admin/campaigns")
    assert viewer.get_by_role("link", name="Edit").count() == 0
    assert viewer.get_by_role("button", name="Pause").count() == 0
    viewer.goto(base + "/admin/campaigns/spring")
    assert viewer.locator("form[action='/admin/campaigns/spring']").count() == 0
    assert viewer.locator("nav >> text=Users").count() == 0

    editor = new_page()
    log_in(editor, base, EDITOR)
    editor.goto(base + "/admin/campaigns")
    editor.locator("tr", has_text="Spring 20% off").get_by_role("link", name="Edit").click()
    editor.fill("#f-reply", NEW_REPLY)
    editor.click("text=Save changes")
    assert "Saved." in editor.locator(".flashes").inner_text()
    assert editor.goto(base + "/admin/users").status == 403

    owner = new_page()
    log_in(owner, base, OWNER)
    owner.click("nav >> text=Audit")
    row = owner.locator("#audit tbody tr", has_text="campaign_edit").first
    assert EDITOR in row.inner_text()
    assert NEW_REPLY in row.inner_text()
    assert "Your Spring code: {code}" in row.inner_text()
    with owner.expect_download() as download_info:
        owner.click("text=Download CSV")
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert any(
        row["actor"] == EDITOR and row["field"] == "reply" and row["after"] == NEW_REPLY
        for row in rows
    )
