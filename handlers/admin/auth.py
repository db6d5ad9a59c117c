"""Logging in and out of the console; failed log-ins are throttled and audited."""

from __future__ import annotations

import logging

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from werkzeug.exceptions import TooManyRequests

from handlers.admin.access import audit, role_required
from handlers.admin.blueprint import begin_session, bp
from handlers.services import services
from handlers.web import client_address, limiter
from selfserve.console import authenticate, normalise_email
from selfserve.errors import ConsoleUserError

log = logging.getLogger(__name__)

# Failed log-ins only (deduct_when): per email, so one account cannot be guessed at from many
# addresses, and per client address, so one address cannot sweep many emails.
LOGIN_LIMIT_PER_EMAIL = "5 per minute;20 per hour"
LOGIN_LIMIT_PER_ADDRESS = "20 per minute;100 per hour"


@bp.errorhandler(TooManyRequests)
def too_many_attempts(error: TooManyRequests) -> tuple[str, int]:
    """Throttled log-in attempts."""
    log.warning("login_throttled", extra={"limit": str(getattr(error, "limit", ""))})
    _audit_login(request.form.get("email", ""), "throttled")
    return (
        render_template(
            "admin/login.html",
            email="",
            error="Too many failed attempts. Please wait a minute, then try again.",
            next_url="",
        ),
        429,
    )


def _login_email() -> str:
    return "login-email:" + request.form.get("email", "").strip().lower()[:254]


def _login_failed(response: Response) -> bool:
    return response.status_code == 401


def _audit_login(email: str, outcome: str) -> None:
    """A log-in attempt in the audit trail, under the email that was typed.

    Anything typed that is not an email (a password in the wrong box) is not kept.
    """
    try:
        typed = normalise_email(email)
    except ConsoleUserError:
        typed = "(not an email)"
    services().audit.record(
        actor=typed,
        action="login",
        target=typed,
        outcome=outcome,
        address=client_address(),
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    LOGIN_LIMIT_PER_EMAIL, key_func=_login_email, methods=["POST"], deduct_when=_login_failed
)
@limiter.limit(
    LOGIN_LIMIT_PER_ADDRESS, key_func=client_address, methods=["POST"], deduct_when=_login_failed
)
def login() -> Response | tuple[str, int] | str:
    """Show the log-in form; check the email and password it sends."""
    next_url = _safe_next(request.values.get("next", ""))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("admin.dashboard_page"))
    if request.method == "GET":
        return render_template("admin/login.html", email="", error=None, next_url=next_url)
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    with services().writes.begin() as db:
        account = authenticate(db, email, password)
    if account is None:
        log.info("login_failed", extra={"client": client_address()})
        _audit_login(email, "failed")
        error = "That email and password don't match an account."
        return (
            render_template("admin/login.html", email=email, error=error, next_url=next_url),
            401,
        )
    # The second factor (issue 30b) is asked for here, before the session begins.
    begin_session(account)  # a fresh session id for the new identity
    log.info("login_succeeded", extra={"user_id": account.id})
    _audit_login(account.email, "ok")
    problem = services().passwords.problem(password)
    if problem is not None:  # too short, common or breached: nothing else until it is changed
        session["must_change_password"] = True
        flash(f"Please choose a new password: {problem}.", "warning")
        return redirect(url_for("admin.change_password"))
    return redirect(next_url or url_for("admin.dashboard_page"))


@bp.post("/logout")
@role_required("viewer")
def logout() -> Response:
    """End the session."""
    audit("logout", current_user.email)
    logout_user()
    session.clear()
    flash("You have logged out.", "info")
    return redirect(url_for("admin.login"))


def _safe_next(target: str) -> str:
    """Only a path inside the console: never another site (an open redirect)."""
    if target.startswith("/admin") and "//" not in target and "\\" not in target:
        return target
    return ""
