"""Console passwords: 12 characters, not common, not breached (Pwned Passwords, fail open)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from app import create_app
from selfserve.console import PasswordPolicy, PwnedPasswords, create_user
from tests.console_support import EMAIL, PASSWORD, log_in, post_form
from tests.stand_ins.pwned_passwords import PwnedPasswordsStandIn
from tests.stand_ins.server import DroppingServer, ServedApp

BREACHED = "correct horse battery staple"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("elevenchars", "at least 12 characters"),
        ("password1234", "most common"),
        ("PASSWORD1234", "most common"),
        ("qwerty123456", "most common"),
        ("iloveyou2026!", "most common"),
        ("!!sunshine!!", "most common"),
        ("passwordpassword", "most common"),
        ("abcabcabcabc", "most common"),
        ("123456789012", "most common"),
        ("x" * 1025, "at most 1024"),
    ],
)
def test_short_long_and_common_passwords_are_refused(password, problem):
    assert problem in (PasswordPolicy().problem(password) or "")


@pytest.mark.parametrize("password", [PASSWORD, "tram lemon quietly 9", "739184620573"])
def test_a_long_uncommon_password_needs_no_symbols_or_capitals(password):
    assert PasswordPolicy().problem(password) is None


@pytest.fixture
def pwned() -> Iterator[PwnedPasswordsStandIn]:
    stand_in = PwnedPasswordsStandIn()
    served = ServedApp(stand_in)
    stand_in.url = served.url
    stand_in.breach(BREACHED)
    yield stand_in
    served.stop()


@pytest.fixture
def breach_check(pwned) -> Iterator[PwnedPasswords]:
    checker = PwnedPasswords(httpx.Client(timeout=2.0), pwned.url)
    yield checker
    checker.close()


class TestPwnedPasswords:
    def test_a_breached_password_is_found_sending_only_five_hex_characters(
        self, pwned, breach_check
    ):
        digest = hashlib.sha1(BREACHED.encode(), usedforsecurity=False).hexdigest().upper()
        assert breach_check.is_breached(BREACHED) is True
        assert pwned.paths == [f"/range/{digest[:5]}?"]
        assert breach_check.is_breached(PASSWORD) is False

    def test_the_policy_refuses_a_breached_password(self, breach_check):
        assert "known data breaches" in (PasswordPolicy(breach_check).problem(BREACHED) or "")

    def test_when_the_api_fails_the_check_fails_open_with_a_log_line(
        self, pwned, breach_check, caplog
    ):
        pwned.down = True
        with caplog.at_level(logging.WARNING):
            assert PasswordPolicy(breach_check).problem(BREACHED) is None
        assert "pwned_passwords_unreachable" in caplog.messages

    def test_a_dropped_connection_fails_open_too(self, caplog):
        server = DroppingServer()
        checker = PwnedPasswords(httpx.Client(timeout=2.0), server.url)
        try:
            with caplog.at_level(logging.WARNING):
                assert checker.is_breached(BREACHED) is None
        finally:
            checker.close()
            server.stop()
        assert "pwned_passwords_unreachable" in caplog.messages


@pytest.fixture
def hibp_app(settings, pwned):
    application = create_app(
        replace(settings, password_breach_check="hibp", pwned_passwords_url=pwned.url)
    )
    application.config["TESTING"] = True
    yield application
    application.extensions["selfserve"].close()


class TestInTheApp:
    def test_users_create_refuses_a_breached_password(self, hibp_app):
        result = hibp_app.test_cli_runner().invoke(
            args=["users", "create", EMAIL, "--password", BREACHED]
        )
        assert result.exit_code == 1
        assert "known data breaches" in result.output

    def test_a_breached_password_at_log_in_must_be_changed_before_anything_else(self, hibp_app):
        with hibp_app.extensions["selfserve"].writes.begin() as db:
            create_user(db, EMAIL, BREACHED, "owner")  # before the check was turned on
        client = hibp_app.test_client()
        answer = log_in(client, EMAIL, BREACHED)
        assert answer.headers["Location"].endswith("/admin/password")
        assert client.get("/admin/campaigns").headers["Location"].endswith("/admin/password")
        changed = post_form(
            client,
            "/admin/password",
            "/admin/password",
            {"password": BREACHED, "new_password": PASSWORD, "confirm": PASSWORD},
        )
        assert changed.status_code == 302
        assert client.get("/admin/campaigns").status_code == 200
