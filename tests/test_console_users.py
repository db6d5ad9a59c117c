"""Console users and roles: the `users` commands, invitations, the last owner, the upgrade."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text

from selfserve.console import find_invite
from selfserve.models import ConsoleUser, utcnow
from selfserve.ops import build_engine, migrate
from tests.console_support import EMAIL, PASSWORD, create_console_user, log_in, post_form

OTHER = "second@acme.example"


def _role(app, email: str) -> str:
    with app.extensions["selfserve"].sessions() as db:
        return db.scalar(select(ConsoleUser.role).where(ConsoleUser.email == email))


class TestUsersCommands:
    def test_the_first_user_is_an_owner_and_later_ones_default_to_viewer(self, app, runner):
        first = runner.invoke(args=["users", "create", EMAIL, "--password", PASSWORD])
        second = runner.invoke(args=["users", "create", OTHER, "--password", PASSWORD])
        assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
        assert (_role(app, EMAIL), _role(app, OTHER)) == ("owner", "viewer")
        listing = runner.invoke(args=["users", "list"]).output
        assert f"{EMAIL}  owner" in listing
        assert f"{OTHER}  viewer" in listing

    def test_create_takes_a_role_and_set_role_changes_it(self, app, runner):
        runner.invoke(args=["users", "create", EMAIL, "--password", PASSWORD])
        made = runner.invoke(
            args=["users", "create", OTHER, "--role", "editor", "--password", PASSWORD]
        )
        assert made.exit_code == 0
        assert _role(app, OTHER) == "editor"
        changed = runner.invoke(args=["users", "set-role", OTHER, "owner"])
        assert changed.exit_code == 0, changed.output
        assert _role(app, OTHER) == "owner"

    @pytest.mark.parametrize(
        "arguments", [["users", "set-role", EMAIL, "viewer"], ["users", "deactivate", EMAIL]]
    )
    def test_the_last_owner_cannot_be_demoted_or_deactivated(self, app, runner, arguments):
        create_console_user(app)
        create_console_user(app, OTHER, role="editor")
        refused = runner.invoke(args=arguments)
        assert refused.exit_code == 1
        assert "last owner" in refused.output
        assert _role(app, EMAIL) == "owner"

    def test_a_deactivated_user_cannot_log_in(self, app, client, runner):
        create_console_user(app)
        create_console_user(app, OTHER, role="editor")
        assert runner.invoke(args=["users", "deactivate", OTHER]).exit_code == 0
        assert log_in(client, OTHER).status_code == 401


class TestOwnersInTheConsole:
    @pytest.fixture
    def owner(self, app, client):
        create_console_user(app)
        assert log_in(client).status_code == 302
        return client

    def _invite(self, owner, role: str = "editor") -> str:
        page = post_form(
            owner, "/admin/users", "/admin/users/invite", {"email": OTHER, "role": role}
        )
        assert page.status_code == 200
        found = re.search(r'id="invite-link">([^<]+)<', page.get_data(as_text=True))
        assert found, "the link is shown once, on the page"
        return found.group(1).split("/admin/invite/", 1)[1]

    def test_an_invitation_link_makes_the_account_once(self, app, owner):
        token = self._invite(owner)
        newcomer = app.test_client()
        page = f"/admin/invite/{token}"
        assert newcomer.get(page).status_code == 200
        weak = post_form(
            newcomer, page, page, {"password": "password1234", "confirm": "password1234"}
        )
        assert weak.status_code == 422
        made = post_form(newcomer, page, page, {"password": PASSWORD, "confirm": PASSWORD})
        assert made.status_code == 302
        assert _role(app, OTHER) == "editor"
        assert app.test_client().get(page).status_code == 404  # used

    def test_an_invitation_expires_after_24_hours(self, app, owner):
        token = self._invite(owner)
        with app.extensions["selfserve"].sessions() as db:
            assert find_invite(db, token, utcnow() + timedelta(hours=23)) is not None
            assert find_invite(db, token, utcnow() + timedelta(hours=24, minutes=1)) is None

    def test_an_owner_changes_a_role_but_never_of_the_last_owner(self, app, owner):
        create_console_user(app, OTHER, role="viewer")
        with app.extensions["selfserve"].sessions() as db:
            ids = dict(db.execute(select(ConsoleUser.email, ConsoleUser.id)).all())
        post_form(owner, "/admin/users", f"/admin/users/{ids[OTHER]}/role", {"role": "editor"})
        assert _role(app, OTHER) == "editor"
        post_form(owner, "/admin/users", f"/admin/users/{ids[EMAIL]}/role", {"role": "viewer"})
        assert _role(app, EMAIL) == "owner"


def test_users_that_exist_before_the_upgrade_become_owners(tmp_path):
    engine = build_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0001_baseline")
    assert "role" not in {column["name"] for column in inspect(engine).get_columns("console_users")}
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO console_users (email, password_hash, created_at) "
                "VALUES (:email, '$argon2id$old', '2026-01-01 00:00:00')"
            ),
            {"email": EMAIL},
        )
    migrate.upgrade(engine)
    with engine.connect() as connection:
        found = connection.execute(select(ConsoleUser.role, ConsoleUser.is_active)).one()
    assert tuple(found) == ("owner", True)
    engine.dispose()
