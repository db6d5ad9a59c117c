"""The security page: enrol an authenticator app, recovery codes, passkeys, confirm identity.

Every change of factors needs a fresh confirmation (factors.is_fresh): right after log-in, or
after typing the password and a factor again on /admin/security/confirm. The app's QR code
and secret are shown until the first code confirms them, then never again; recovery codes
are shown once, on the page that made them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from handlers.admin.access import role_required
from handlers.admin.blueprint import bp
from handlers.admin.factors import is_fresh, mark_confirmed
from handlers.admin.second_step import check_second_factor
from handlers.services import services
from handlers.web import client_address, limiter
from selfserve.console import ConsoleAccount, authenticate, passkey_host_problem
from selfserve.errors import SecondFactorError

CONFIRM_LIMIT = "5 per minute;20 per hour"  # wrong confirmations, per user


def _account() -> ConsoleAccount:
    return ConsoleAccount(current_user.id, current_user.email)


def needs_fresh_confirmation(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send the user to confirm password and factor first, unless they just did (or logged in)."""

    @wraps(view)
    def confirmed_view(*args: Any, **kwargs: Any) -> Any:
        if not is_fresh():
            back = url_for("admin.enrol") if request.endpoint == "admin.enrol" else ""
            return redirect(url_for("admin.confirm_identity", next=back or "/admin/security"))
        return view(*args, **kwargs)

    return confirmed_view


def _summary() -> Any:
    with services().sessions() as db:
        return services().factors.summary(db, current_user.id)


@bp.get("/security")
@role_required("viewer")
def security_page() -> str:
    """The user's factors: the app, recovery codes left, passkeys by name."""
    return render_template(
        "admin/security.html",
        summary=_summary(),
        passkey_problem=passkey_host_problem(services().settings.public_base_url),
        mfa_required=services().settings.requires_mfa,
    )


@bp.route("/security/enrol", methods=["GET", "POST"])
@role_required("viewer")
@needs_fresh_confirmation
def enrol() -> str | tuple[str, int]:
    """Set up an authenticator app: its QR code and secret, then one code to confirm."""
    with services().writes.begin() as db:
        enrolment = services().factors.start_totp(db, _account())
    error = None
    if request.method == "POST":
        try:
            with services().writes.begin() as db:
                codes = services().factors.confirm_totp(
                    db, _account(), request.form.get("code", "")[:64], client_address()
                )
        except SecondFactorError as problem:
            error = str(problem)
        else:
            return _recovery_codes_page(codes, "Your authenticator app is set up.")
    page = render_template(
        "admin/enrol.html",
        enrolment=enrolment,
        summary=_summary(),
        error=error,
        passkey_problem=passkey_host_problem(services().settings.public_base_url),
    )
    return (page, 422) if error else page


def _recovery_codes_page(codes: list[str], title: str) -> str:
    return render_template("admin/recovery_codes.html", codes=codes, title=title)


@bp.post("/security/recovery-codes")
@role_required("viewer")
@needs_fresh_confirmation
def renew_recovery_codes() -> str:
    """Ten new recovery codes; the old ones stop working."""
    with services().writes.begin() as db:
        codes = services().factors.renew_recovery_codes(db, _account(), client_address())
    return _recovery_codes_page(codes, "Your new recovery codes")


@bp.post("/security/app/remove")
@role_required("viewer")
@needs_fresh_confirmation
def remove_app() -> Response:
    """Remove the authenticator app."""
    with services().writes.begin() as db:
        services().factors.remove_totp(db, _account(), client_address())
    flash("The authenticator app was removed.", "success")
    return redirect(url_for("admin.security_page"))


def _user_key() -> str:
    return f"confirm-identity:{current_user.get_id()}"


@bp.route("/security/confirm", methods=["GET", "POST"])
@role_required("viewer")
@limiter.limit(
    CONFIRM_LIMIT,
    key_func=_user_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code == 401,
)
def confirm_identity() -> Response | str | tuple[str, int]:
    """Type the password and a factor again before changing factors."""
    target = request.values.get("next", "")
    if not (target.startswith("/admin/") and "//" not in target and "\\" not in target):
        target = url_for("admin.security_page")
    summary = _summary()
    if request.method == "GET":
        return render_template("admin/confirm.html", summary=summary, next_url=target, error=None)
    if _password_and_factor_match(summary.has_factor):
        mark_confirmed()
        return redirect(target)
    services().record_event(
        current_user.email, "confirm_identity", current_user.email, "failed", client_address()
    )
    error = "That password or code didn't match."
    page = render_template("admin/confirm.html", summary=summary, next_url=target, error=error)
    return page, 401


def _password_and_factor_match(has_factor: bool) -> bool:
    """The password, then (for a user with a factor) the code or passkey in the same form."""
    with services().writes.begin() as db:
        if authenticate(db, current_user.email, request.form.get("password", "")) is None:
            return False
    return not has_factor or check_second_factor(_account(), "confirm") is not None
