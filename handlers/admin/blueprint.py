"""The console's one blueprint: its log-in guard, hooks and error pages, and shared lookups."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user
from flask_wtf.csrf import CSRFError

from handlers.pages import private_page
from handlers.services import services
from selfserve.campaigns import CampaignSpec
from selfserve.console import ConsoleAccount, find_user

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")
login_manager = LoginManager()
# Pages a visitor without a session may open: the log-in form, its second step (issue 30:
# TOTP, recovery code or passkey, for the user whose password was right) and SSO.
PUBLIC_ENDPOINTS = (
    "admin.login",
    "admin.static",
    "admin.second_factor",
    "admin.passkey_login_options",
    "admin.passkey_login",
    "admin.sso_login",
    "admin.sso_callback",
)


class LoggedInUser(UserMixin):
    """The console account as Flask-Login wants it."""

    def __init__(self, account: ConsoleAccount) -> None:
        self.id = account.id
        self.email = account.email


def begin_session(account: ConsoleAccount) -> None:
    """Log `account` in on a fresh session (nothing of the one before carries over)."""
    session.clear()
    login_user(LoggedInUser(account))
    session.permanent = True


@login_manager.user_loader
def load_user(user_id: str) -> LoggedInUser | None:
    """The user of a session cookie, or None when the account is gone."""
    if not user_id.isdigit():
        return None
    with services().sessions() as db:
        account = find_user(db, int(user_id))
    return None if account is None else LoggedInUser(account)


@bp.before_request
def require_login() -> Response | None:
    """Everything under /admin/ except the log-in page needs a logged-in user."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
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
    }


@bp.errorhandler(CSRFError)
def form_expired(error: CSRFError) -> tuple[str, int]:
    """A form without a valid CSRF token: nothing was changed; say so politely."""
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
