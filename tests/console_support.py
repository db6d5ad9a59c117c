"""Helpers for console and simulator tests: make a user, read a page's CSRF token, log in."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from selfserve.console import create_user
from selfserve.models import OutboundMessage
from selfserve.sms import SandboxSender

EMAIL = "marketer@acme.example"
PASSWORD = "spring-is-here-2026"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def create_console_user(
    app: Flask, email: str = EMAIL, password: str = PASSWORD, role: str = "owner"
) -> None:
    """A console user in the app's database (an owner unless `role` says otherwise)."""
    with app.extensions["selfserve"].writes.begin() as db:
        create_user(db, email, password, role)


def csrf_token(client: Any, path: str) -> str:
    """The CSRF token of the form on `path`, read from the page as a browser would."""
    page = client.get(path)
    found = _CSRF.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def log_in(client: Any, email: str = EMAIL, password: str = PASSWORD, **extra: str) -> Any:
    """Submit the log-in form with its CSRF token; returns the response (not followed)."""
    token = csrf_token(client, "/admin/login")
    return client.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


def post_form(client: Any, form_page: str, action: str, data: dict[str, str]) -> Any:
    """POST `data` to `action` with the CSRF token of the form on `form_page`."""
    return client.post(action, data={**data, "csrf_token": csrf_token(client, form_page)})


def record_sent_text(
    db, to_e164: str, body: str, purpose: str, campaign_slug: str | None = None
) -> OutboundMessage:
    """An outbox row as the SMS sandbox leaves a sent text (for pages that list them)."""
    sent = SandboxSender().send(to_e164, body)
    row = OutboundMessage(
        to_e164=to_e164,
        body=body,
        purpose=purpose,
        provider=sent.provider,
        status=sent.status,
        message_sid=sent.sid,
        campaign_slug=campaign_slug,
    )
    db.add(row)
    db.flush()
    return row
