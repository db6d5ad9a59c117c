"""User management for owners: invite by a one-time link, change roles, deactivate.

The invitation's own page (/admin/invite/<token>) is open without a log-in: the token is the
credential, good once and for 24 hours.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from handlers.admin.access import audit, role_required
from handlers.admin.blueprint import begin_session, bp, now, renew_session
from handlers.services import services
from selfserve.console import (
    ROLES,
    ConsoleAccount,
    accept_invite,
    create_invite,
    find_invite,
    find_user,
    list_users,
    set_active,
    set_role,
)
from selfserve.errors import ConsoleUserError


def _users_page(invite_link: str = "", status: int = 200) -> tuple[str, int]:
    with services().sessions() as db:
        users = list_users(db)
    page = render_template("admin/users.html", users=users, roles=ROLES, invite_link=invite_link)
    return page, status


@bp.get("/users")
@role_required("owner")
def users_page() -> tuple[str, int]:
    """Every console user with their role, and the invitation form."""
    return _users_page()


@bp.post("/users/invite")
@role_required("owner")
def invite_user() -> tuple[str, int]:
    """Make a one-time link for a new user; it is shown once, here."""
    email, role = request.form.get("email", ""), request.form.get("role", "viewer")
    try:
        with services().writes.begin() as db:
            token = create_invite(db, email, role, current_user.email, now())
    except ConsoleUserError as error:
        audit("user_invite", email.strip().lower()[:254], outcome="invalid")
        flash(f"Could not invite: {error}.", "error")
        return _users_page(status=422)
    audit("user_invite", email.strip().lower(), changes={"role": {"before": None, "after": role}})
    link = services().settings.public_base_url.rstrip("/") + url_for(
        "admin.accept_invite", token=token
    )
    flash(
        f"Invited {email.strip().lower()}: send them the link below (good for 24 hours).", "success"
    )
    return _users_page(invite_link=link)


def _user_or_404(user_id: int) -> ConsoleAccount:
    with services().sessions() as db:
        account = find_user(db, user_id)
    if account is None:
        abort(404)
    return account


@bp.post("/users/<int:user_id>/role")
@role_required("owner")
def change_role(user_id: int) -> Response:
    """Give a user another role; their other sessions end."""
    account, role = _user_or_404(user_id), request.form.get("role", "")
    try:
        with services().writes.begin() as db:
            old_role, changed = set_role(db, account.email, role)
    except ConsoleUserError as error:
        audit("user_role", account.email, outcome="refused")
        flash(f"Could not change the role: {error}.", "error")
        return redirect(url_for("admin.users_page"))
    audit("user_role", account.email, changes={"role": {"before": old_role, "after": changed.role}})
    flash(f"{changed.email} now has the {changed.role} role.", "success")
    if changed.id == current_user.id:
        renew_session(changed)  # a privilege change: a new session id, at the new generation
        if changed.role != "owner":
            return redirect(url_for("admin.dashboard_page"))  # this page is for owners
    return redirect(url_for("admin.users_page"))


@bp.post("/users/<int:user_id>/active")
@role_required("owner")
def change_active(user_id: int) -> Response:
    """Deactivate a user (their sessions end at once) or let them in again."""
    account = _user_or_404(user_id)
    is_active = request.form.get("active") == "true"
    try:
        with services().writes.begin() as db:
            changed = set_active(db, account.email, is_active)
    except ConsoleUserError as error:
        audit("user_deactivate", account.email, outcome="refused")
        flash(f"Could not deactivate: {error}.", "error")
        return redirect(url_for("admin.users_page"))
    action = "user_reactivate" if is_active else "user_deactivate"
    changes = {"active": {"before": account.is_active, "after": changed.is_active}}
    audit(action, account.email, changes=changes)
    flash(f"{changed.email} is {'active' if changed.is_active else 'deactivated'}.", "success")
    return redirect(url_for("admin.users_page"))


@bp.route("/invite/<token>", methods=["GET", "POST"], endpoint="accept_invite")
def accept_invite_page(token: str) -> Response | tuple[str, int]:
    """The invitation link: choose a password, and the account exists."""
    with services().sessions() as db:
        invitation = find_invite(db, token, now())
    if invitation is None:
        message = "This link has expired or was already used. Ask an owner for a new one."
        page = render_template("admin/problem.html", title="Invitation not valid", message=message)
        return page, 404
    if request.method == "GET":
        return render_template("admin/invite.html", invitation=invitation, error=None), 200
    password = request.form.get("password", "")
    if password != request.form.get("confirm", ""):
        error = "The two passwords are not the same."
    else:
        try:
            with services().writes.begin() as db:
                account = accept_invite(db, token, password, services().passwords, now())
        except ConsoleUserError as refused:
            error = f"{str(refused).capitalize()}."
        else:
            begin_session(account)
            audit("user_accept_invite", account.email)
            flash("Welcome: your account is ready.", "success")
            return redirect(url_for("admin.dashboard_page"))
    page = render_template("admin/invite.html", invitation=invitation, error=error)
    return page, 422
