"""Console sessions: idle and absolute timeouts, a new id at log-in, ended by a change."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from app import create_app
from tests.console_support import EMAIL, PASSWORD, create_console_user, log_in, post_form

NEW_PASSWORD = "a-brand-new-passphrase-26"


@pytest.fixture
def logged_in(app, client):
    create_console_user(app)
    assert log_in(client).status_code == 302
    return client


def _age(client, key: str, seconds: float) -> None:
    with client.session_transaction() as session:
        session[key] = time.time() - seconds


def _is_logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("key", "seconds", "still_in"),
    [
        ("console_seen", 29 * 60, True),
        ("console_seen", 31 * 60, False),  # CONSOLE_IDLE_MINUTES defaults to 30
        ("console_started", 11.9 * 3600, True),
        ("console_started", 12.1 * 3600, False),  # 12 hours, however busy
    ],
)
def test_a_session_ends_when_idle_or_old(logged_in, key, seconds, still_in):
    _age(logged_in, key, seconds)
    assert _is_logged_in(logged_in) is still_in


def test_the_idle_timeout_follows_the_setting(app, settings, client):
    strict = create_app(replace(settings, console_idle_minutes=5))
    strict.config["TESTING"] = True
    create_console_user(strict)
    strict_client = strict.test_client()
    log_in(strict_client)
    _age(strict_client, "console_seen", 6 * 60)
    assert _is_logged_in(strict_client) is False
    strict.extensions["selfserve"].close()


def test_logging_in_starts_a_new_session(app, client):
    create_console_user(app)
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        planted_id = session.get("console_sid")
    log_in(client)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["console_sid"] != planted_id


def test_a_password_change_ends_the_users_other_sessions(app, logged_in):
    elsewhere = app.test_client()
    log_in(elsewhere)
    changed = post_form(
        logged_in,
        "/admin/password",
        "/admin/password",
        {"password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    assert _is_logged_in(logged_in) is True
    assert _is_logged_in(elsewhere) is False
    assert log_in(app.test_client(), EMAIL, NEW_PASSWORD).status_code == 302


def test_a_wrong_current_password_changes_nothing(app, logged_in):
    refused = post_form(
        logged_in,
        "/admin/password",
        "/admin/password",
        {"password": "not-my-password-x", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert refused.status_code == 422
    assert log_in(app.test_client()).status_code == 302


def test_a_role_change_ends_the_users_sessions(app, runner, logged_in):
    create_console_user(app, "second@acme.example")
    assert runner.invoke(args=["users", "set-role", EMAIL, "editor"]).exit_code == 0
    assert _is_logged_in(logged_in) is False
