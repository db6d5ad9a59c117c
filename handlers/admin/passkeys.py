"""Passkeys over HTTP: options as JSON for static/passkeys.js, answers as ordinary form posts.

The browser asks for options (POST, CSRF header), the authenticator signs, and the script puts
the credential JSON into a hidden field of the page's form and submits it, so every outcome is
a normal page. The challenge waits in the session for five minutes, for one purpose (log-in,
second step, confirmation or registration), and is used once.
"""

from __future__ import annotations

import time

from flask import Response, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from webauthn import base64url_to_bytes
from webauthn.helpers import bytes_to_base64url

from handlers.admin.access import role_required
from handlers.admin.blueprint import bp
from handlers.admin.factors import finish_log_in, is_fresh, pending_account
from handlers.services import services
from handlers.web import client_address
from selfserve.console import ConsoleAccount, PasskeyOptions
from selfserve.errors import SecondFactorError

CHALLENGE_KEY = "passkey_challenge"
CHALLENGE_SECONDS = 300
PURPOSES = ("login", "second", "confirm")


def _keep_challenge(options: PasskeyOptions, purpose: str) -> Response:
    session[CHALLENGE_KEY] = {
        "purpose": purpose,
        "challenge": bytes_to_base64url(options.challenge),
        "user_handle": options.user_handle,
        "at": time.time(),
    }
    response = Response(options.options_json, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _take_challenge(purpose: str) -> dict | None:
    """The waiting challenge for `purpose` (removed: it is good for one answer), or None."""
    waiting = session.pop(CHALLENGE_KEY, None)
    if not isinstance(waiting, dict) or waiting.get("purpose") != purpose:
        return None
    if time.time() - float(waiting.get("at", 0)) > CHALLENGE_SECONDS:
        return None
    return waiting


def _refusal(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message), status


@bp.post("/login/passkey/options/<purpose>")
def passkey_login_options(purpose: str) -> Response | tuple[Response, int]:
    """Options to sign with a passkey: to log in, for the second step, or to confirm."""
    if purpose not in PURPOSES:
        return _refusal("Unknown purpose.", 404)
    if purpose == "login" and services().settings.oidc_only:
        return _refusal("This console logs in through single sign-on only.", 403)
    user_id = None
    if purpose == "second":
        account = pending_account()
        if account is None:
            return _refusal("Please log in again.", 401)
        user_id = account.id
    elif purpose == "confirm":
        if not current_user.is_authenticated:
            return _refusal("Please log in again.", 401)
        user_id = current_user.id
    try:
        with services().sessions() as db:
            options = services().passkeys.authentication_options(db, user_id)
    except SecondFactorError as problem:
        return _refusal(str(problem), 409)
    return _keep_challenge(options, purpose)


def verify_passkey_of(account: ConsoleAccount | None, credential: str, purpose: str) -> bool:
    """True when `credential` answers this session's `purpose` challenge with the user's key."""
    return _verified_account(account, credential, purpose) is not None


def _verified_account(
    account: ConsoleAccount | None, credential: str, purpose: str
) -> ConsoleAccount | None:
    waiting = _take_challenge(purpose)
    if waiting is None:
        return None
    try:
        with services().writes.begin() as db:
            return services().passkeys.authenticate(
                db,
                credential[:20_000],
                base64url_to_bytes(waiting["challenge"]),
                None if account is None else account.id,
            )
    except SecondFactorError as problem:
        who = account.email if account is not None else "(passkey)"
        services().record_event(who, "passkey", who, f"failed: {problem}", client_address())
        return None


@bp.post("/login/passkey")
def passkey_login() -> Response | tuple[str, int]:
    """Log in with a passkey alone (it is two factors: the device, and its PIN or biometrics)."""
    if services().settings.oidc_only:
        return render_template(
            "admin/problem.html",
            title="Single sign-on only",
            message="This console logs in through single sign-on only.",
        ), 403
    account = _verified_account(None, request.form.get("credential", ""), "login")
    if account is None:
        error = "That passkey did not log you in. Try again, or use your password."
        page = render_template("admin/login.html", email="", error=error, next_url="")
        return page, 401
    return finish_log_in(account, "passkey")


@bp.post("/security/passkeys/options")
@role_required("viewer")
def passkey_options() -> Response | tuple[Response, int]:
    """Options to create a passkey for the logged-in user (after a fresh confirmation)."""
    if not is_fresh():
        return _refusal("Please confirm it's you first (Security page).", 403)
    account = ConsoleAccount(current_user.id, current_user.email)
    try:
        with services().sessions() as db:
            options = services().passkeys.registration_options(db, account)
    except SecondFactorError as problem:
        return _refusal(str(problem), 409)
    return _keep_challenge(options, "register")


@bp.post("/security/passkeys")
@role_required("viewer")
def add_passkey() -> Response | str:
    """Keep the passkey the browser just made, under the name the user gave it."""
    waiting = _take_challenge("register")
    if not is_fresh() or waiting is None:
        flash("That took too long: please add the passkey again.", "error")
        return redirect(url_for("admin.security_page"))
    account = ConsoleAccount(current_user.id, current_user.email)
    try:
        with services().writes.begin() as db:
            services().passkeys.register(
                db,
                account,
                request.form.get("name", ""),
                request.form.get("credential", "")[:20_000],
                base64url_to_bytes(waiting["challenge"]),
                waiting.get("user_handle", ""),
                client_address(),
            )
            summary = services().factors.summary(db, account.id)
            codes = (
                []
                if summary.recovery_codes_left
                else services().factors.renew_recovery_codes(db, account, client_address())
            )
    except SecondFactorError as problem:
        flash(str(problem), "error")
        return redirect(url_for("admin.security_page"))
    if codes:
        return render_template("admin/recovery_codes.html", codes=codes, title="Passkey added")
    flash("Passkey added.", "success")
    return redirect(url_for("admin.security_page"))


@bp.post("/security/passkeys/<int:passkey_id>/remove")
@role_required("viewer")
def remove_passkey(passkey_id: int) -> Response:
    """Remove one of the user's passkeys (after a fresh confirmation)."""
    if not is_fresh():
        return redirect(url_for("admin.confirm_identity", next="/admin/security"))
    account = ConsoleAccount(current_user.id, current_user.email)
    try:
        with services().writes.begin() as db:
            services().passkeys.remove(db, account, passkey_id, client_address())
    except SecondFactorError as problem:
        flash(str(problem), "error")
    else:
        flash("Passkey removed.", "success")
    return redirect(url_for("admin.security_page"))


@bp.context_processor
def passkey_context() -> dict[str, bool]:
    """Whether the log-in page offers "Log in with a passkey" (a host name, no OIDC_ONLY),
    and whether factor changes are open without confirming again (`factors.is_fresh`)."""
    return {
        "passkey_login_open": services().passkeys.problem is None
        and not services().settings.oidc_only,
        "changes_open": current_user.is_authenticated and is_fresh(),
    }
