"""The log-in's second step: an app code, a recovery code or a passkey, after the password.

The password step (auth.py) leaves only `factors.PENDING_KEY` in the session; this page turns
it into a session once a factor matches. Wrong codes are throttled per user.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, session, url_for

from handlers.admin.blueprint import bp
from handlers.admin.factors import PENDING_KEY, finish_log_in, pending_account
from handlers.admin.passkeys import verify_passkey_of
from handlers.services import services
from handlers.web import client_address, limiter
from selfserve.console import ConsoleAccount

# Wrong second-factor codes, per half-logged-in user: a six-digit code is not guessable at
# this rate (20 an hour against 3 valid codes in a million).
SECOND_STEP_LIMIT = "5 per minute;20 per hour"


def _pending_key() -> str:
    pending = session.get(PENDING_KEY)
    user_id = pending.get("user_id", "") if isinstance(pending, dict) else ""
    return f"second-factor:{user_id or client_address()}"


@bp.route("/login/second-factor", methods=["GET", "POST"])
@limiter.limit(
    SECOND_STEP_LIMIT,
    key_func=_pending_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code == 401,
)
def second_factor() -> Response | str | tuple[str, int]:
    """The log-in's second step: a code from the app, a recovery code, or a passkey."""
    account = pending_account()
    if account is None:
        flash("Please log in again: the second step waits ten minutes at most.", "info")
        return redirect(url_for("admin.login"))
    with services().sessions() as db:
        summary = services().factors.summary(db, account.id)
    if request.method == "GET":
        return render_template("admin/second_factor.html", summary=summary, error=None)
    method = check_second_factor(account)
    if method is None:
        error = "That code didn't match, or it was used already. Try the next one."
        page = render_template("admin/second_factor.html", summary=summary, error=error)
        return page, 401
    next_url = session[PENDING_KEY].get("next", "")
    if method == "recovery code":
        flash("You used a recovery code: it will not work again.", "warning")
    return finish_log_in(account, f"password+{method}", next_url)


def check_second_factor(account: ConsoleAccount, purpose: str = "second") -> str | None:
    """The factor the form proves ("totp", "recovery code", "passkey"), or None."""
    credential = request.form.get("credential", "")
    if credential:
        return "passkey" if verify_passkey_of(account, credential, purpose) else None
    code = request.form.get("code", "")[:64]
    with services().writes.begin() as db:
        return services().factors.check_code(db, account, code, client_address())
