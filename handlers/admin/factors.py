"""Two-factor log-in: the second step after a right password, and enrolment before all else.

After the password, a user with a factor is not logged in yet: the session only remembers who
is half-way (`mfa_pending`, ten minutes) and the second step asks for an app code, a recovery
code or a passkey. With MFA_REQUIRED a logged-in user without a factor is sent to enrolment
from every console page until they have one (SSO users excepted: their identity provider owns
their second factor). Changing factors needs a fresh confirmation (`is_fresh`): the password
and a factor typed in the last five minutes, or a log-in that recent.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, redirect, request, session, url_for
from flask_login import current_user, user_logged_in

from handlers.admin.blueprint import PUBLIC_ENDPOINTS, begin_session, bp
from handlers.services import services
from handlers.web import client_address
from selfserve.console import ConsoleAccount, find_user

log = logging.getLogger(__name__)

PENDING_KEY = "mfa_pending"
PENDING_SECONDS = 600  # the second step must follow the password within ten minutes
FRESH_SECONDS = 300  # "sudo mode": how long a log-in or a confirmation allows factor changes
AUTHENTICATED_AT = "authenticated_at"
CONFIRMED_AT = "identity_confirmed_at"
SSO_KEY = "sso_login"
# What a user who must enrol may still open under MFA_REQUIRED.
ENROLMENT_ENDPOINTS = (
    "admin.logout",
    "admin.enrol",
    "admin.confirm_identity",
    "admin.passkey_options",
    "admin.add_passkey",
)


def hold_for_second_factor(account: ConsoleAccount, next_url: str) -> Response | None:
    """After the right password: the second step when the user has a factor, else None.

    The session is not logged in yet; it only holds who is half-way, and until when.
    """
    with services().sessions() as db:
        if not services().factors.has_factor(db, account.id):
            return None
    session.clear()
    session[PENDING_KEY] = {"user_id": account.id, "next": next_url, "at": time.time()}
    return redirect(url_for("admin.second_factor"))


def pending_account() -> ConsoleAccount | None:
    """The user whose password was right a moment ago, or None (none, expired, deleted)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    with services().sessions() as db:
        return find_user(db, int(pending.get("user_id", 0)))


def finish_log_in(account: ConsoleAccount, method: str, next_url: str = "") -> Response:
    """Begin the session after the second step (or a passkey alone) and go on."""
    begin_session(account)
    services().record_event(
        account.email, "login", account.email, "ok", client_address(), {"method": method}
    )
    log.info("login_succeeded", extra={"user_id": account.id, "method": method})
    return redirect(next_url or url_for("admin.dashboard_page"))


def is_fresh() -> bool:
    """True when the user logged in or confirmed password and factor in the last minutes."""
    latest = max(float(session.get(AUTHENTICATED_AT, 0)), float(session.get(CONFIRMED_AT, 0)))
    return time.time() - latest <= FRESH_SECONDS


def mark_confirmed() -> None:
    """The user just typed password and factor again (factor changes are open a while)."""
    session[CONFIRMED_AT] = time.time()


def _note_log_in_time(sender: Flask, user: Any, **extra: Any) -> None:
    """Every log-in (password, second step, passkey, SSO) opens the short window for changes."""
    session[AUTHENTICATED_AT] = time.time()


user_logged_in.connect(_note_log_in_time, weak=False)


@bp.before_request
def require_a_second_factor() -> Response | None:
    """Under MFA_REQUIRED, a user without a factor goes to enrolment, whatever they open."""
    endpoint = request.endpoint or ""
    if endpoint in PUBLIC_ENDPOINTS or endpoint in ENROLMENT_ENDPOINTS:
        return None
    if not current_user.is_authenticated or session.get(SSO_KEY):
        return None
    if not services().settings.requires_mfa:
        return None
    with services().sessions() as db:
        if services().factors.has_factor(db, current_user.id):
            return None
    return redirect(url_for("admin.enrol"))
