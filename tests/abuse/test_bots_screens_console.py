"""The bot challenge, screen-only codes, the console's view of abuse, Redis-shared limits."""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import UTC, datetime
from html import unescape
from urllib.parse import urlsplit

import pytest

from selfserve.landing import ScreenTokens
from tests.abuse.conftest import (
    SqliteOnly,
    abuse_counts,
    challenge_of,
    decoded_qr,
    solved,
)
from tests.conftest import (
    TEST_REDIS_URL,
    WITH_REDIS,
    send_text,
)
from tests.console_reports.conftest import table_rows
from tests.console_support import create_console_user, log_in
from tests.phone_visitor import PhoneVisitor, number_form


class TestBotChallenge(SqliteOnly):
    @pytest.fixture
    def guarded(self, make_app):
        return make_app(landing_challenge="altcha")

    def post_number(self, visitor: PhoneVisitor, solution: str | None):
        form = number_form(visitor.page)
        data = form.data(phone="0491 570 156")
        if solution is None:
            data.pop("altcha", None)
        else:
            data["altcha"] = solution
        return visitor.submit(form, data)

    def test_no_wrong_or_replayed_solution_sends_nothing(self, guarded, twilio_stand_in):
        visitor = PhoneVisitor(guarded.test_client())
        visitor.scan()
        assert 'src="/static/altcha.js"' in visitor.page
        assert "needs JavaScript" in visitor.page
        assert "sms:" in visitor.page
        good = solved(challenge_of(visitor.page))
        assert self.post_number(visitor, None).status_code == 400
        assert self.post_number(visitor, "").status_code == 400
        tampered = json.loads(__import__("base64").b64decode(good))
        tampered["solution"]["counter"] += 1
        wrong = __import__("base64").b64encode(json.dumps(tampered).encode()).decode()
        assert self.post_number(visitor, wrong).status_code == 400
        assert twilio_stand_in.messages == []
        assert self.post_number(visitor, good).status_code == 200
        assert len(twilio_stand_in.messages) == 1
        visitor.scan()
        assert self.post_number(visitor, good).status_code == 400  # replayed
        assert len(twilio_stand_in.messages) == 1
        assert abuse_counts(guarded, "challenge_failed") == 4

    def test_another_apps_challenge_is_refused(self, guarded, make_app, twilio_stand_in):
        foreign = make_app(landing_challenge="altcha", secret_key="another-secret")
        elsewhere = PhoneVisitor(foreign.test_client())
        elsewhere.scan()
        visitor = PhoneVisitor(guarded.test_client())
        visitor.scan()
        assert self.post_number(visitor, solved(challenge_of(elsewhere.page))).status_code == 400
        assert twilio_stand_in.messages == []

    def test_the_challenge_is_also_served_as_json(self, guarded):
        response = guarded.test_client().get("/q/spring/challenge")
        assert response.status_code == 200
        assert response.json["parameters"]["algorithm"] == "PBKDF2/SHA-256"
        assert response.json["parameters"]["expiresAt"] <= time.time() + 600

    def test_off_means_no_widget(self, make_app):
        client = make_app(landing_challenge="off").test_client()
        assert "data-challenge" not in client.get("/q/spring").get_data(as_text=True)
        assert client.get("/q/spring/challenge").status_code == 404


class TestScreenCodes(SqliteOnly):
    @pytest.fixture
    def stadium(self, make_app):
        return make_app()

    def screen_url(self, application, *options: str) -> str:
        result = application.test_cli_runner().invoke(
            args=["posters", "screen-url", "stadium", *options]
        )
        assert result.exit_code == 0, result.output
        return result.output.strip()

    def test_the_screen_qr_opens_the_form_and_old_or_forged_tokens_do_not(
        self, stadium, twilio_stand_in
    ):
        url = urlsplit(self.screen_url(stadium))
        assert url.path == "/screen/stadium"
        client = stadium.test_client()
        page = client.get(f"{url.path}?{url.query}")
        assert page.status_code == 200
        assert 'http-equiv="refresh" content="2"' in page.get_data(as_text=True)
        assert "frame-ancestors *" in page.headers["Content-Security-Policy"]
        src = unescape(re.search(r'<img[^>]+src="([^"]+)"', page.get_data(as_text=True))[1])
        scanned = urlsplit(decoded_qr(client.get(src).data))
        assert scanned.path == "/q/stadium"
        assert scanned.query.startswith("t=")

        visitor = PhoneVisitor(stadium.test_client())
        assert visitor.get(f"{scanned.path}?{scanned.query}").status_code == 200
        assert visitor.enter_number("0491 570 156").status_code == 200
        assert twilio_stand_in.messages_to("+61491570156")

        services = stadium.extensions["selfserve"]
        old = ScreenTokens(
            services.writes, services.settings.secret_key, now=lambda: time.time() - 6
        ).token("stadium", 2)
        for query in (f"t={old}", "t=forged-token-AAAAAAAA", ""):
            stranger = PhoneVisitor(stadium.test_client())
            response = stranger.get(f"/q/stadium?{query}")
            assert response.status_code == 403
            assert "scan the code on the screen again" in stranger.text.lower()
            assert "<form" not in stranger.page
            form_post = stranger.client.post("/q/stadium", data={"phone": "0491 570 157"})
            assert form_post.status_code in (400, 403)  # CSRF or the screen: nothing sent
        assert not twilio_stand_in.messages_to("+61491570157")

    def test_a_wrong_or_rotated_key_is_a_404(self, stadium):
        client = stadium.test_client()
        url = urlsplit(self.screen_url(stadium))
        assert client.get("/screen/stadium?key=wrong").status_code == 404
        assert client.get("/screen/stadium").status_code == 404
        assert client.get("/screen/stadium/qr.png?key=wrong").status_code == 404
        assert client.get("/screen/spring?" + url.query).status_code == 404
        rotated = urlsplit(self.screen_url(stadium, "--rotate-key"))
        assert rotated.query != url.query
        assert client.get(f"{url.path}?{url.query}").status_code == 404
        assert client.get(f"{rotated.path}?{rotated.query}").status_code == 200

    def test_a_poster_campaign_has_no_screen(self, stadium):
        result = stadium.test_cli_runner().invoke(args=["posters", "screen-url", "spring"])
        assert result.exit_code != 0
        assert "fresh_scan_seconds" in result.output


class TestConsole:
    def test_the_campaign_report_shows_refusals_per_day(self, make_app, talon_stand_in):
        application = make_app(max_new_codes_per_number_per_day=1, landing_challenge="altcha")
        texts = application.test_client()
        send_text(texts, "SUMMER")
        send_text(texts, "AUTUMN")  # over the cap
        send_text(texts, "AUTUMN")  # and again
        visitor = PhoneVisitor(application.test_client())
        visitor.scan("autumn")
        visitor.enter_number("0491 570 156")  # no bot-check solution
        create_console_user(application)
        console = application.test_client()
        assert log_in(console).status_code == 302
        page = console.get("/admin/stats?campaign=autumn").get_data(as_text=True)
        today = datetime.now(UTC).strftime("%a %d %b %Y")
        assert table_rows(page, "abuse-table") == [f"{today} 0 2 1"]
        other = console.get("/admin/stats?campaign=summer").get_data(as_text=True)
        assert table_rows(other, "abuse-table") == ["Nothing refused in this period."]


if WITH_REDIS:  # when TEST_REDIS_URL is set, and always on CI (conftest)

    @pytest.mark.needs_redis
    class TestSharedThroughRedis(SqliteOnly):
        @pytest.fixture
        def two_apps(self, make_app):
            shared = {
                "redis_url": TEST_REDIS_URL,
                "secret_key": secrets.token_hex(16),  # fresh counter keys for this run
                "otp_limit_per_ip": "1000 per minute",
                "otp_limit_per_range": "2 per hour",
                "landing_challenge": "altcha",
            }
            return make_app(**shared), make_app(**shared)

        def test_a_range_blocked_by_one_process_is_blocked_for_the_other(
            self, two_apps, twilio_stand_in
        ):
            first, second = two_apps
            statuses = []
            for last, application in enumerate((first, second, first, second)):
                visitor = PhoneVisitor(application.test_client(), address=f"10.1.1.{last}")
                visitor.scan()
                form = number_form(visitor.page)
                data = form.data(phone=f"0491 570 5{last:02d}")
                data["altcha"] = solved(challenge_of(visitor.page))
                statuses.append(visitor.submit(form, data).status_code)
            assert statuses == [200, 200, 403, 403]
            assert len(twilio_stand_in.messages) == 2

        def test_a_solution_used_on_one_process_is_refused_on_the_other(
            self, two_apps, twilio_stand_in
        ):
            first, second = two_apps
            visitor = PhoneVisitor(first.test_client())
            visitor.scan()
            solution = solved(challenge_of(visitor.page))
            form = number_form(visitor.page)
            data = {**form.data(phone="0491 570 600"), "altcha": solution}
            assert visitor.submit(form, data).status_code == 200
            replay = PhoneVisitor(second.test_client())
            replay.scan()
            form = number_form(replay.page)
            data = {**form.data(phone="0491 570 601"), "altcha": solution}
            assert replay.submit(form, data).status_code == 400
            assert len(twilio_stand_in.messages) == 1
