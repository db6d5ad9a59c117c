"""test_csrf_everywhere.py's cases for the two-factor, passkey and SSO routes (issue 30).

Each brings the client to where a post with its token WOULD change something: a factor
enrolled or waiting, a passkey stored, a password typed and the second step pending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from selfserve.models import ConsolePasskey
from tests.console_support import create_console_user, log_in
from tests.two_factor_support import code_at, enrol_totp, log_out, read_secret


@dataclass(frozen=True)
class SignInPost:
    """A token-less post (the shape test_csrf_everywhere.Post has)."""

    path: str
    data: dict[str, str]
    still_true: Callable[[Any], bool] | None = None


def _is_logged_in(client: Any) -> bool:
    return client.get("/admin/").status_code == 200


def _enrolled(app: Flask, client: Any) -> str:
    create_console_user(app)
    secret, _ = enrol_totp(client)
    return secret


def ready_for_second_step(app, client, twilio):
    secret = _enrolled(app, client)
    log_out(client)
    assert log_in(client).headers["Location"] == "/admin/login/second-factor"
    return SignInPost(
        "/admin/login/second-factor",
        {"code": code_at(secret, 1)},
        still_true=lambda c: not _is_logged_in(c),
    )


def ready_to_confirm_an_app(app, client, twilio):
    create_console_user(app)
    log_in(client)
    secret = read_secret(client.get("/admin/security/enrol").get_data(as_text=True))
    return SignInPost("/admin/security/enrol", {"code": code_at(secret)})


def ready_to_confirm_identity(app, client, twilio):
    secret = _enrolled(app, client)
    return SignInPost("/admin/security/confirm", {"code": code_at(secret, 1)})


def ready_to_remove_the_app(app, client, twilio):
    _enrolled(app, client)
    return SignInPost("/admin/security/app/remove", {})


def ready_to_renew_recovery_codes(app, client, twilio):
    _enrolled(app, client)
    return SignInPost("/admin/security/recovery-codes", {})


def ready_for_passkey_options(app, client, twilio):
    create_console_user(app)
    client.get("/admin/login")
    return SignInPost("/admin/login/passkey/options/login", {})


def ready_for_passkey_log_in(app, client, twilio):
    create_console_user(app)
    client.get("/admin/login")
    return SignInPost("/admin/login/passkey", {"credential": "{}"})


def ready_to_ask_for_a_new_passkey(app, client, twilio):
    create_console_user(app)
    log_in(client)
    return SignInPost("/admin/security/passkeys/options", {})


def ready_to_add_a_passkey(app, client, twilio):
    create_console_user(app)
    log_in(client)
    return SignInPost("/admin/security/passkeys", {"name": "Laptop", "credential": "{}"})


def ready_to_remove_a_passkey(app, client, twilio):
    create_console_user(app)
    log_in(client)
    with app.extensions["selfserve"].writes.begin() as db:
        key = ConsolePasskey(
            user_id=1, name="Laptop", credential_id="abc", public_key=b"k", user_handle="h"
        )
        db.add(key)
        db.flush()
        passkey_id = key.id
    return SignInPost(f"/admin/security/passkeys/{passkey_id}/remove", {})


SIGN_IN_ROUTES: dict[str, Callable[..., SignInPost]] = {
    "admin.second_factor": ready_for_second_step,
    "admin.enrol": ready_to_confirm_an_app,
    "admin.confirm_identity": ready_to_confirm_identity,
    "admin.remove_app": ready_to_remove_the_app,
    "admin.renew_recovery_codes": ready_to_renew_recovery_codes,
    "admin.passkey_login_options": ready_for_passkey_options,
    "admin.passkey_login": ready_for_passkey_log_in,
    "admin.passkey_options": ready_to_ask_for_a_new_passkey,
    "admin.add_passkey": ready_to_add_a_passkey,
    "admin.remove_passkey": ready_to_remove_a_passkey,
}
