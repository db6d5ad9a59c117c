"""Logging in and out of the console; failed log-ins are throttled."""

from __future__ import annotations

import logging

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from handlers.admin.blueprint import LoggedInUser, bp
from handlers.admin.factors import hold_for_second_factor
from handlers.services import services
from handlers.web import client_address, limiter
from selfserve.console import authenticate

log = logging.getLogger(__name__)

# Failed log-ins only (deduct_when): per email, so one account cannot be guessed at from many
# addresses, and per client address, so one address cannot sweep many emails.
LOGIN_LIMIT_PER_EMAIL = "5 per minute;20 per hour"
LOGIN_LIMIT_PER_ADDRESS = "20 per minute;100 per hour"


@bp.errorhandler(TooManyRequests)
def too_many_attempts(error: TooManyRequests) -> tuple[str, int]:
    """Throttled log-in attempts."""
    log.warning("login_throttled", extra={"limit": str(getattr(error, "limit", ""))})
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
    with services().writes.begin() as db:
        account = authenticate(db, email, request.form.get("password", ""))
    if account is None:
        log.info("login_failed", extra={"client": client_address()})
        error = "That email and password don't match an account."
        return (
            render_template("admin/login.html", email=email, error=error, next_url=next_url),
            401,
        )
    held = hold_for_second_factor(account, next_url)  # factors.py: TOTP, passkey or code
    if held is not None:
        return held
    session.clear()  # a fresh session for the new identity
    login_user(LoggedInUser(account))
    session.permanent = True
    log.info("login_succeeded", extra={"user_id": account.id})
    return redirect(next_url or url_for("admin.dashboard_page"))


@bp.post("/logout")
def logout() -> Response:
    """End the session."""
    logout_user()
    session.clear()
    flash("You have logged out.", "info")
    return redirect(url_for("admin.login"))


def _safe_next(target: str) -> str:
    """Only a path inside the console: never another site (an open redirect)."""
    if target.startswith("/admin") and "//" not in target and "\\" not in target:
        return target
    return ""
