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

from flask import Flask, Response, flash, redirect, request, session, url_for
from flask_login import current_user, user_logged_in

from handlers.admin.blueprint import PASSWORD_ENDPOINTS, PUBLIC_ENDPOINTS, begin_session, bp
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


def hold_for_second_factor(
    account: ConsoleAccount, next_url: str, password_problem: str | None = None
) -> Response | None:
    """After the right password: the second step when the user has a factor, else None.

    The session is not logged in yet; it only holds who is half-way, until when, and what is
    wrong with the password typed (too short, common or breached; never the password).
    """
    with services().sessions() as db:
        if not services().factors.has_factor(db, account.id):
            return None
    session.clear()
    session[PENDING_KEY] = {
        "user_id": account.id,
        "next": next_url,
        "at": time.time(),
        "password_problem": password_problem,
    }
    return redirect(url_for("admin.second_factor"))


def pending_account() -> ConsoleAccount | None:
    """The user whose password was right a moment ago, or None (none, expired, deleted)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    with services().sessions() as db:
        return find_user(db, int(pending.get("user_id", 0)))


def finish_log_in(account: ConsoleAccount, method: str, next_url: str = "") -> Response:
    """Begin the session after the second step (or a passkey alone) and go on.

    The session id is new (`begin_session`); the log-in goes into the audit trail; a password
    found too weak or breached at the first step must be changed before anything else.
    """
    pending = session.get(PENDING_KEY)
    same_user = isinstance(pending, dict) and pending.get("user_id") == account.id
    problem = pending.get("password_problem") if same_user else None
    begin_session(account)
    services().record_event(
        account.email, "login", account.email, "ok", client_address(), {"method": method}
    )
    log.info("login_succeeded", extra={"user_id": account.id, "method": method})
    if problem:
        session["must_change_password"] = True
        flash(f"Please choose a new password: {problem}.", "warning")
        return redirect(url_for("admin.change_password"))
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
    if endpoint in PASSWORD_ENDPOINTS and session.get("must_change_password"):
        return None  # a weak or breached password is changed first, then the factor
    return redirect(url_for("admin.enrol")) if must_enrol() else None


def must_enrol() -> bool:
    """True when MFA_REQUIRED and the logged-in (non-SSO) user has no second factor yet."""
    if not current_user.is_authenticated or session.get(SSO_KEY):
        return False
    if not services().settings.requires_mfa:
        return False
    with services().sessions() as db:
        return not services().factors.has_factor(db, current_user.id)
