"""Passkeys in headless Chromium, with its virtual authenticator (DevTools' WebAuthn domain).

WebAuthn needs a secure context on a host name, so the app is served as http://localhost:<port>
and PUBLIC_BASE_URL says so: the relying party is `localhost`, the origin that URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from selfserve.models import ConsolePasskey
from tests.console_support import EMAIL, PASSWORD, create_console_user
from tests.end_to_end.test_console_in_browser import _AppLater
from tests.stand_ins.server import ServedApp
from tests.two_factor_support import mfa_app

TIMEOUT_MS = 15_000


@pytest.fixture
def localhost_console(settings: Any) -> Iterator[tuple[Any, str]]:
    """The app with MFA_REQUIRED at http://localhost:<port>, one console user; (app, base)."""
    later = _AppLater()
    served = ServedApp(later)
    base = f"http://localhost:{served.port}"
    application = mfa_app(settings, public_base_url=base)
    create_console_user(application)
    later.app = application
    yield application, base
    served.stop()
    application.extensions["selfserve"].close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh context whose page has a virtual platform authenticator (user verified)."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    yield page
    context.close()


def password_log_in(page: Any, base: str) -> None:
    page.goto(base + "/admin/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def register_passkey(page: Any, base: str, name: str) -> None:
    """Password log-in, then a passkey from the enrolment page MFA_REQUIRED leads to."""
    password_log_in(page, base)
    page.wait_for_url(base + "/admin/security/enrol")
    page.fill("#passkey-name", name)
    page.click("#add-passkey")
    page.wait_for_url(base + "/admin/security/passkeys")
    assert page.locator(".recovery-code").count() == 10
    page.click("#continue")
    page.wait_for_url(base + "/admin/")


def log_out(page: Any) -> None:
    page.click("text=Log out")
    page.wait_for_selector("input[name=email]")


def test_a_passkey_registered_at_enrolment_logs_in_without_the_password(localhost_console, page):
    application, base = localhost_console
    register_passkey(page, base, "Work laptop")
    with application.extensions["selfserve"].sessions() as db:
        [stored] = db.scalars(select(ConsolePasskey)).all()
    assert stored.name == "Work laptop"
    log_out(page)
    page.click("#passkey-login")
    page.wait_for_url(base + "/admin/")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert EMAIL in page.content()


def test_a_passkey_is_the_second_step_after_the_password(localhost_console, page):
    _, base = localhost_console
    register_passkey(page, base, "Work laptop")
    log_out(page)
    password_log_in(page, base)
    page.wait_for_url(base + "/admin/login/second-factor")
    page.click("#use-passkey")
    page.wait_for_url(base + "/admin/")
    assert page.locator("h1").inner_text() == "Dashboard"


def test_a_removed_passkey_no_longer_logs_in(localhost_console, page):
    _, base = localhost_console
    register_passkey(page, base, "Old phone")
    page.goto(base + "/admin/security")
    assert "Old phone" in page.locator("#passkeys").inner_text()
    page.click("#passkeys >> text=Remove")
    page.wait_for_url(base + "/admin/security/enrol")  # no factor left: enrol again
    log_out(page)
    page.click("#passkey-login")
    page.wait_for_selector("#login-error")
    assert "did not log you in" in page.locator("#login-error").inner_text()


def test_an_ip_address_install_says_passkeys_cannot_work_there(settings):
    application = mfa_app(replace(settings, public_base_url="http://192.0.2.10:5000"))
    try:
        create_console_user(application)
        client = application.test_client()
        from tests.console_support import log_in

        log_in(client)
        page = client.get("/admin/security/enrol").get_data(as_text=True)
        assert "Passkeys need a host name" in page
        assert "192.0.2.10" in page
        assert 'id="add-passkey"' not in page
        assert 'id="passkey-login"' not in client.get("/admin/login").get_data(as_text=True)
    finally:
        application.extensions["selfserve"].close()


@pytest.mark.parametrize(
    ("base_url", "purpose", "status"),
    [
        ("http://localhost:5000", "everything", 404),
        ("http://localhost:5000", "second", 401),  # no password typed first
        ("http://localhost:5000", "confirm", 401),  # not logged in
        ("http://192.0.2.10:5000", "login", 409),  # an IP address holds no passkeys
    ],
)
def test_passkey_options_are_refused_when_they_cannot_serve(settings, base_url, purpose, status):
    from tests.console_support import csrf_token

    application = mfa_app(replace(settings, public_base_url=base_url))
    try:
        client = application.test_client()
        token = csrf_token(client, "/admin/login")
        answer = client.post(
            f"/admin/login/passkey/options/{purpose}", headers={"X-CSRFToken": token}
        )
        assert answer.status_code == status
        assert "error" in answer.get_json()
    finally:
        application.extensions["selfserve"].close()
