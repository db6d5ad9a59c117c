"""The logged-in user's own account: changing the password (which ends their other sessions)."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from handlers.admin.access import audit, role_required
from handlers.admin.blueprint import bp, renew_session
from handlers.services import services
from selfserve.console import check_password, set_password
from selfserve.errors import ConsoleUserError


def _password_form(error: str | None, status: int) -> tuple[str, int]:
    forced = bool(session.get("must_change_password"))
    return render_template("admin/password.html", error=error, forced=forced), status


@bp.route("/password", methods=["GET", "POST"])
@role_required("viewer")
def change_password() -> Response | tuple[str, int]:
    """Ask for the current password and a new one; other sessions of this user end."""
    if request.method == "GET":
        return _password_form(None, 200)
    new_password = request.form.get("new_password", "")
    with services().sessions() as db:
        is_current = check_password(db, current_user.id, request.form.get("password", ""))
    if not is_current:
        audit("password_change", current_user.email, outcome="failed")
        return _password_form("Your current password was not right.", 422)
    if new_password != request.form.get("confirm", ""):
        return _password_form("The two new passwords are not the same.", 422)
    try:
        with services().writes.begin() as db:
            account = set_password(
                db, current_user.email, new_password, policy=services().passwords
            )
    except ConsoleUserError as refused:
        audit("password_change", current_user.email, outcome="refused")
        return _password_form(f"{str(refused).capitalize()}.", 422)
    session.pop("must_change_password", None)
    renew_session(account)  # a new session id; sessions elsewhere are over
    audit("password_change", account.email)
    flash("Your password has changed. Other sessions of yours have ended.", "success")
    return redirect(url_for("admin.dashboard_page"))
