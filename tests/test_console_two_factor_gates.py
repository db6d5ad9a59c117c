"""Two-factor log-in on top of part A's console security: the second step still leads to the
log-in's audit row, a new session id and the breached-password change; MFA_REQUIRED's
enrolment gate covers the phone simulator; the security pages need only a log-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from selfserve.console import create_user, set_password
from selfserve.models import AuditEvent
from tests.console_support import (
    EMAIL,
    PASSWORD,
    create_console_user,
    csrf_token,
    log_in,
    post_form,
)
from tests.stand_ins.pwned_passwords import PwnedPasswordsStandIn
from tests.stand_ins.server import ServedApp
from tests.two_factor_support import code_at, enrol_totp, log_out, mfa_app, second_step

BREACHED = "correct horse battery staple"


@pytest.fixture
def pwned() -> Iterator[PwnedPasswordsStandIn]:
    stand_in = PwnedPasswordsStandIn()
    served = ServedApp(stand_in)
    stand_in.url = served.url
    stand_in.breach(BREACHED)
    yield stand_in
    served.stop()


@pytest.fixture
def mfa(settings, pwned):
    application = mfa_app(settings, password_breach_check="hibp", pwned_passwords_url=pwned.url)
    yield application
    application.extensions["selfserve"].close()


def logins(application) -> list[tuple[str, str]]:
    """The audit trail's log-in rows: (target, outcome)."""
    with application.extensions["selfserve"].sessions() as db:
        rows = db.scalars(select(AuditEvent).where(AuditEvent.action == "login")).all()
    return [(row.target, row.outcome) for row in rows]


def test_the_second_step_records_the_log_in_rotates_the_session_and_asks_for_a_new_password(
    mfa,
):
    create_console_user(mfa)
    client = mfa.test_client()
    secret, _ = enrol_totp(client)
    log_out(client)
    with mfa.extensions["selfserve"].writes.begin() as db:
        set_password(db, EMAIL, BREACHED)  # breached since: the check finds it at log-in
    before = len(logins(mfa))
    assert log_in(client, EMAIL, BREACHED).headers["Location"] == "/admin/login/second-factor"
    assert len(logins(mfa)) == before  # half-way is not a log-in yet
    with client.session_transaction() as half_way:
        assert "console_sid" not in half_way
    answer = second_step(client, code_at(secret))
    assert answer.headers["Location"].endswith("/admin/password")
    assert logins(mfa)[before:] == [(EMAIL, "ok")]
    with client.session_transaction() as logged_in:
        assert logged_in["console_sid"]
        assert "mfa_pending" not in logged_in
    assert client.get("/admin/campaigns").headers["Location"].endswith("/admin/password")
    changed = post_form(
        client,
        "/admin/password",
        "/admin/password",
        {"password": BREACHED, "new_password": PASSWORD, "confirm": PASSWORD},
    )
    assert changed.status_code == 302
    assert client.get("/admin/campaigns").status_code == 200


def test_a_breached_password_is_changed_first_then_the_factor_is_enrolled(mfa):
    with mfa.extensions["selfserve"].writes.begin() as db:
        create_user(db, EMAIL, BREACHED, "owner")
    client = mfa.test_client()
    assert log_in(client, EMAIL, BREACHED).headers["Location"].endswith("/admin/password")
    assert client.get("/admin/password").status_code == 200
    changed = post_form(
        client,
        "/admin/password",
        "/admin/password",
        {"password": BREACHED, "new_password": PASSWORD, "confirm": PASSWORD},
    )
    assert changed.status_code == 302
    assert client.get("/admin/").headers["Location"] == "/admin/security/enrol"


@pytest.mark.parametrize("role", ["viewer", "editor", "owner"])
def test_every_role_reaches_enrolment_and_nothing_else_until_enrolled(mfa, role):
    create_console_user(mfa, role=role)
    client = mfa.test_client()
    assert log_in(client).status_code == 302
    assert client.get("/admin/security/enrol").status_code == 200
    for path in ("/admin/", "/admin/campaigns", "/admin/security", "/dev/phone"):
        assert client.get(path).headers.get("Location") == "/admin/security/enrol", path
    token = csrf_token(client, "/admin/security/enrol")  # the session's token: a real form
    form = {"number": "0491 570 156", "body": "SPRING", "csrf_token": token}
    assert client.post("/dev/phone", data=form).headers.get("Location") == ("/admin/security/enrol")


def test_once_enrolled_an_editor_reaches_the_phone_simulator(mfa):
    create_console_user(mfa, role="editor")
    client = mfa.test_client()
    enrol_totp(client)
    assert client.get("/dev/phone").status_code == 200
    assert client.get("/admin/security").status_code == 200
