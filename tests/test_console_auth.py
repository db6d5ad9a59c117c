"""The console's door: users from the CLI, log-in, throttling, CSRF, cookies, log-out."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from app import create_app
from selfserve.models import Campaign, ConsoleUser
from tests.console_support import (
    EMAIL,
    PASSWORD,
    create_console_user,
    csrf_token,
    log_in,
)

CONSOLE_PAGES = [
    "/admin/",
    "/admin/campaigns",
    "/admin/campaigns/new",
    "/admin/campaigns/spring",
    "/admin/messages",
    "/admin/stats",
    "/admin/stats.csv",
    "/admin/stats/daily.csv",
    "/admin/campaigns/spring/posters/web.png",
]


@pytest.fixture
def user(app):
    create_console_user(app)
    return EMAIL


class TestUsersCommand:
    def test_create_stores_an_argon2_hash_never_the_password(self, app, runner):
        result = runner.invoke(
            args=["users", "create", "Marketer@Acme.example", "--password", PASSWORD]
        )
        assert result.exit_code == 0, result.output
        assert "created console user marketer@acme.example" in result.output
        with app.extensions["selfserve"].sessions() as db:
            stored = db.scalars(select(ConsoleUser)).one()
        assert stored.email == "marketer@acme.example"
        assert stored.password_hash.startswith("$argon2id$")
        assert PASSWORD not in stored.password_hash

    def test_create_prompts_for_the_password_when_it_is_omitted(self, client, runner):
        result = runner.invoke(args=["users", "create", EMAIL], input=f"{PASSWORD}\n{PASSWORD}\n")
        assert result.exit_code == 0, result.output
        assert PASSWORD not in result.output  # typed hidden, never echoed
        assert log_in(client).status_code == 302

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            (["users", "create", "not-an-email", "--password", PASSWORD], "is not an email"),
            (["users", "create", EMAIL, "--password", "elevenchars"], "at least 12 characters"),
            (["users", "create", EMAIL, "--password", "password1234"], "most common"),
            (["users", "create", EMAIL, "--password", "Iloveyou2026!"], "most common"),
        ],
    )
    def test_create_refuses_bad_input_with_one_line(self, runner, arguments, message):
        result = runner.invoke(args=arguments)
        assert result.exit_code == 1
        assert message in result.output
        assert "Traceback" not in result.output

    def test_create_refuses_an_email_that_has_an_account(self, runner, user):
        result = runner.invoke(args=["users", "create", EMAIL.upper(), "--password", PASSWORD])
        assert result.exit_code == 1
        assert "already has an account" in result.output

    def test_set_password_replaces_the_old_one(self, client, runner, user):
        result = runner.invoke(
            args=["users", "set-password", EMAIL, "--password", "a-new-password-123"]
        )
        assert result.exit_code == 0, result.output
        assert log_in(client).status_code == 401
        assert log_in(client, password="a-new-password-123").status_code == 302


class TestLoginRequired:
    def test_anonymous_visitors_are_sent_to_the_login_page_and_see_no_data(self, client):
        for path in CONSOLE_PAGES:
            response = client.get(path)
            assert response.status_code == 302, path
            assert response.headers["Location"].startswith("/admin/login?next="), path
            body = response.get_data(as_text=True)
            assert "Spring 20% off" not in body, path
            assert "SPRING" not in body, path

    def test_the_login_page_has_email_and_password_fields(self, client):
        page = client.get("/admin/login").get_data(as_text=True)
        assert 'name="email"' in page
        assert 'name="password"' in page
        assert 'type="password"' in page

    def test_anonymous_posts_change_nothing(self, app, client):
        token = csrf_token(client, "/admin/login")
        response = client.post("/admin/campaigns/spring/pause", data={"csrf_token": token})
        assert response.status_code == 302
        assert "/admin/login" in response.headers["Location"]
        assert app.extensions["selfserve"].campaigns.by_slug("spring").active


class TestLogin:
    def test_the_right_password_opens_the_dashboard(self, client, user):
        response = log_in(client)
        assert response.status_code == 302
        assert response.headers["Location"] == "/admin/"
        page = client.get("/admin/").get_data(as_text=True)
        assert "Spring 20% off" in page
        assert "SPRING" in page
        assert EMAIL in page

    @pytest.mark.parametrize(
        ("email", "password"),
        [(EMAIL, "wrong-password"), ("nobody@acme.example", PASSWORD), ("", ""), (EMAIL, "")],
    )
    def test_a_wrong_email_or_password_gets_one_polite_answer(self, client, user, email, password):
        response = log_in(client, email=email, password=password)
        assert response.status_code == 401
        assert "don&#39;t match an account" in response.get_data(as_text=True)
        assert client.get("/admin/").status_code == 302

    def test_log_in_returns_to_the_page_asked_for(self, client, user):
        response = log_in(client, next="/admin/messages")
        assert response.headers["Location"] == "/admin/messages"

    @pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/admin", "/\\evil"])
    def test_log_in_never_redirects_to_another_site(self, client, user, target):
        response = log_in(client, next=target)
        assert response.headers["Location"] == "/admin/"

    def test_log_out_ends_the_session(self, client, user):
        log_in(client)
        token = csrf_token(client, "/admin/")
        response = client.post("/admin/logout", data={"csrf_token": token})
        assert response.status_code == 302
        assert client.get("/admin/").status_code == 302

    def test_log_out_needs_the_csrf_token(self, client, user):
        log_in(client)
        assert client.post("/admin/logout").status_code == 400
        assert client.get("/admin/").status_code == 200


class TestThrottling:
    def test_repeated_failures_for_one_email_are_throttled_even_with_the_right_password(
        self, client, user
    ):
        for _ in range(5):
            assert log_in(client, password="wrong-password").status_code == 401
        throttled = log_in(client)
        assert throttled.status_code == 429
        assert "Too many failed attempts" in throttled.get_data(as_text=True)
        assert client.get("/admin/").status_code == 302

    def test_successful_log_ins_do_not_count_towards_the_limit(self, app, user):
        for _ in range(7):
            assert log_in(app.test_client()).status_code == 302

    def test_one_address_cannot_sweep_many_emails(self, client, user):
        for number in range(20):
            log_in(client, email=f"guess{number}@acme.example", password="wrong-password")
        assert log_in(client).status_code == 429


class TestCsrf:
    def test_log_in_without_the_token_is_refused(self, client, user):
        response = client.post("/admin/login", data={"email": EMAIL, "password": PASSWORD})
        assert response.status_code == 400
        assert client.get("/admin/").status_code == 302

    def test_a_campaign_form_without_the_token_is_refused_and_nothing_is_created(
        self, app, client, user
    ):
        log_in(client)
        response = client.post(
            "/admin/campaigns/new",
            data={
                "name": "Autumn",
                "slug": "autumn",
                "keywords": "AUTUMN",
                "action": "coupon",
                "application_id": "1",
                "campaign_id": "2",
            },
        )
        assert response.status_code == 400
        assert "Nothing was changed" in response.get_data(as_text=True)
        with app.extensions["selfserve"].sessions() as db:
            assert db.scalar(select(Campaign).where(Campaign.slug == "autumn")) is None

    def test_pausing_without_the_token_is_refused(self, app, client, user):
        log_in(client)
        assert client.post("/admin/campaigns/spring/pause").status_code == 400
        app.extensions["selfserve"].campaigns.invalidate()
        assert app.extensions["selfserve"].campaigns.by_slug("spring").active

    def test_a_token_from_another_session_is_refused(self, app, client, user):
        other = app.test_client()
        stolen = csrf_token(other, "/admin/login")
        log_in(client)
        response = client.post("/admin/campaigns/spring/pause", data={"csrf_token": stolen})
        assert response.status_code == 400


class TestSessionCookie:
    def test_the_session_cookie_is_httponly_lax_and_secure_behind_https(self, client, user):
        response = log_in(client)
        cookie = next(
            value
            for value in response.headers.getlist("Set-Cookie")
            if value.startswith("session=")
        )
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" in cookie  # PUBLIC_BASE_URL is https in the test settings

    def test_the_cookie_is_not_secure_on_a_plain_http_install(self, settings):
        application = create_app(replace(settings, public_base_url="http://127.0.0.1:5000"))
        try:
            create_console_user(application)
            response = log_in(application.test_client())
            cookie = next(
                value
                for value in response.headers.getlist("Set-Cookie")
                if value.startswith("session=")
            )
            assert "HttpOnly" in cookie
            assert "SameSite=Lax" in cookie
            assert "Secure" not in cookie
        finally:
            application.extensions["selfserve"].close()

    def test_console_pages_are_never_cached_or_framed(self, client, user):
        log_in(client)
        response = client.get("/admin/")
        assert response.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
