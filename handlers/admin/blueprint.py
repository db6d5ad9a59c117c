"""The console's one blueprint: its log-in and role guard, hooks and error pages, lookups."""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user
from flask_wtf.csrf import CSRFError

from handlers.admin.access import is_allowed, needed_role, refuse
from handlers.pages import private_page
from handlers.services import services
from selfserve.campaigns import CampaignSpec
from selfserve.console import ConsoleAccount, SessionStamp, find_user, is_session_current

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")
login_manager = LoginManager()
# Pages anyone may open: the log-in form and an invitation's one-time link.
PUBLIC_ENDPOINTS = ("admin.login", "admin.static", "admin.accept_invite")
# What a user who must change their password may still do.
PASSWORD_ENDPOINTS = ("admin.change_password", "admin.logout")


class LoggedInUser(UserMixin):
    """The console account as Flask-Login wants it."""

    def __init__(self, account: ConsoleAccount) -> None:
        self.id = account.id
        self.email = account.email
        self.role = account.role
        self.session_generation = account.session_generation


def begin_session(account: ConsoleAccount) -> None:
    """Log `account` in on a brand-new session (a new id: no fixation across log-ins)."""
    session.clear()
    login_user(LoggedInUser(account))
    session.permanent = True
    started = time.time()
    session["console_sid"] = secrets.token_urlsafe(16)
    session["console_started"] = started
    session["console_seen"] = started
    session["console_generation"] = account.session_generation


def renew_session(account: ConsoleAccount) -> None:
    """Rotate the session after a privilege change, keeping when it began."""
    started = session.get("console_started", time.time())
    must_change = session.get("must_change_password")
    begin_session(account)
    session["console_started"] = started
    if must_change:
        session["must_change_password"] = True


@login_manager.user_loader
def load_user(user_id: str) -> LoggedInUser | None:
    """The user of a session cookie, or None when the account or the session is over."""
    if not user_id.isdigit():
        return None
    with services().sessions() as db:
        account = find_user(db, int(user_id))
    if account is None:
        return None
    stamp = SessionStamp(
        float(session.get("console_started", 0)),
        float(session.get("console_seen", 0)),
        int(session.get("console_generation", -1)),
    )
    now_seconds = time.time()
    if not is_session_current(
        stamp, account, now_seconds, services().settings.console_idle_minutes
    ):
        log.info("console_session_ended", extra={"user_id": account.id})
        return None
    session["console_seen"] = now_seconds
    return LoggedInUser(account)


@bp.before_request
def require_login_and_role() -> Response | tuple[str, int] | None:
    """Everything under /admin/ needs a logged-in user whose role reaches the view's."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if session.get("must_change_password") and request.endpoint not in PASSWORD_ENDPOINTS:
        return redirect(url_for("admin.change_password"))
    needed = needed_role(request.endpoint, request.method)
    if not is_allowed(needed):
        return refuse(needed)
    return None


bp.after_request(private_page)


@bp.context_processor
def console_context() -> dict[str, Any]:
    """What the console layout shows on every page: the modes this install runs in."""
    settings = services().settings
    return {
        "talon_sandbox": settings.talon_sandbox,
        "sms_sandbox": settings.sms_sandbox,
        "talon_dry_run": settings.talon_dry_run,
        "can": is_allowed,
    }


@bp.errorhandler(CSRFError)
def form_expired(error: CSRFError) -> tuple[str, int]:
    """A form without a valid CSRF token: nothing was changed; say so politely.

    A user whose role could not have sent it anyway gets the 403 that says so.
    """
    if current_user.is_authenticated:
        needed = needed_role(request.endpoint, request.method)
        if not is_allowed(needed):
            return refuse(needed)
    log.warning("csrf_rejected", extra={"path": request.path, "reason": error.description})
    return (
        render_template(
            "admin/problem.html",
            title="This form has expired",
            message="Nothing was changed. Go back, reload the page and try again.",
        ),
        400,
    )


def now() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


def campaign_or_404(slug: str) -> CampaignSpec:
    """The campaign with `slug`, freshly read, or a 404."""
    services().campaigns.invalidate()  # just saved in another tab? show the latest
    campaign = services().campaigns.by_slug(slug)
    if campaign is None:
        abort(404)
    return campaign
