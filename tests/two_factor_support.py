"""Helpers for two-factor tests: an app with MFA_REQUIRED, enrolment read off the page."""

from __future__ import annotations

import html
import re
import time
from dataclasses import replace
from typing import Any

import pyotp
from flask import Flask

from app import create_app
from selfserve.ops import Settings
from tests.conftest import SPRING_CAMPAIGNS, import_campaigns_text
from tests.console_support import EMAIL, PASSWORD, csrf_token, log_in

_SECRET = re.compile(r'id="totp-secret" data-secret="([A-Z2-7]+)"')
_RECOVERY = re.compile(r'<code class="recovery-code">([a-z2-7-]+)</code>')


def mfa_app(settings: Settings, **changes: Any) -> Flask:
    """The app with MFA_REQUIRED on (and any other `changes`), test campaigns imported."""
    application = create_app(replace(settings, mfa_required="true", **changes))
    application.config["TESTING"] = True
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    return application


def read_secret(page: str) -> str:
    """The TOTP secret shown beside the QR code on the enrolment page."""
    found = _SECRET.search(page)
    assert found, "no TOTP secret on the enrolment page"
    return found.group(1)


def read_recovery_codes(page: str) -> list[str]:
    """The recovery codes a page shows (once)."""
    return [html.unescape(code) for code in _RECOVERY.findall(page)]


def code_at(secret: str, offset_steps: int = 0) -> str:
    """The app's code now, or `offset_steps` time steps away."""
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def enrol_totp(client: Any) -> tuple[str, list[str]]:
    """Log in with the password, follow to enrolment, confirm; the secret and recovery codes."""
    assert log_in(client).status_code == 302
    page = client.get("/admin/security/enrol").get_data(as_text=True)
    secret = read_secret(page)
    answer = client.post(
        "/admin/security/enrol",
        data={"code": code_at(secret), "csrf_token": csrf_token(client, "/admin/security/enrol")},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return secret, read_recovery_codes(answer.get_data(as_text=True))


def log_out(client: Any) -> None:
    """Log out through the form."""
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/security")})


def second_step(client: Any, code: str) -> Any:
    """Submit the second step's form with `code` (after the password)."""
    token = csrf_token(client, "/admin/login/second-factor")
    return client.post("/admin/login/second-factor", data={"code": code, "csrf_token": token})


def log_in_with_code(client: Any, code: str, email: str = EMAIL) -> Any:
    """Password, then the second step with `code`; the second step's answer."""
    first = log_in(client, email=email, password=PASSWORD)
    assert first.status_code == 302
    assert first.headers["Location"] == "/admin/login/second-factor"
    return second_step(client, code)
