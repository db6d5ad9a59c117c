"""Abuse resistance over the app's real interfaces (issue 20).

SMS pumping by number ranges (landing form → Twilio stand-in), per-person code caps (signed
webhook → Talon.One stand-in), the ALTCHA bot challenge (solved with the `altcha` package, as
a harness would) and screen-only campaigns' rotating QR codes (the CLI, the screen page, the
PNG decoded with zbar).
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
import shutil
import time
from dataclasses import replace
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import altcha
import pytest
from PIL import Image
from pyzbar import pyzbar
from sqlalchemy import event, select

from app import create_app
from selfserve.landing import ScreenTokens
from selfserve.models import AbuseCount
from tests.conftest import (
    TEST_REDIS_URL,
    WITH_REDIS,
    import_campaigns_text,
    reply_text,
    send_text,
)
from tests.console_support import create_console_user, log_in
from tests.phone_visitor import PhoneVisitor, number_form
from tests.test_console_reports import table_rows

SPRING = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING", "BLOOM"]
application_id = 12
campaign_id = 34
identifier = "{customer_id}:{campaign_id}:{keyword}"
recipient = true
reply = "Your Spring code: {code}"
max_codes_per_day = 1

[[campaign]]
slug = "summer"
name = "Summer"
keywords = ["SUMMER"]
application_id = 12
campaign_id = 35
reply = "Your Summer code: {code}"

[[campaign]]
slug = "autumn"
name = "Autumn"
keywords = ["AUTUMN"]
application_id = 12
campaign_id = 36
reply = "Your Autumn code: {code}"

[[campaign]]
slug = "winter"
name = "Winter"
keywords = ["WINTER"]
application_id = 12
campaign_id = 37
reply = "Your Winter code: {code}"

[[campaign]]
slug = "stadium"
name = "Stadium draw"
keywords = ["GOAL"]
application_id = 12
campaign_id = 38
reply = "Your stadium code: {code}"
fresh_scan_seconds = 2
"""


class SqliteOnly:
    """Limits, challenges and tokens live outside the database: SQLite alone is enough.
    Caps and the console's counts query the database: they run on PostgreSQL too."""

    @pytest.fixture(params=["sqlite"])
    def database_url(self, tmp_path: Path, sqlite_template: Path) -> str:
        path = tmp_path / "selfserve.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"


def build(settings, **changes):
    application = create_app(replace(settings, **changes))
    application.config["TESTING"] = True
    import_campaigns_text(application, SPRING)
    return application


@pytest.fixture
def make_app(settings):
    built = []

    def make(**changes):
        built.append(build(settings, **changes))
        return built[-1]

    yield make
    for application in built:
        application.extensions["selfserve"].close()


def abuse_counts(application, kind: str) -> int:
    with application.extensions["selfserve"].sessions() as db:
        return sum(db.scalars(select(AbuseCount.count).where(AbuseCount.kind == kind)))


def error_text(html: str) -> str:
    match = re.search(r'class="error"[^>]*>([^<]*)<', html)
    return unescape(match.group(1)) if match else ""


class TestNumberRanges(SqliteOnly):
    def test_a_pumped_range_gets_ten_codes_and_other_ranges_still_get_theirs(
        self, make_app, twilio_stand_in, caplog
    ):
        application = make_app(otp_limit_per_ip="1000 per minute")
        statuses = []
        with caplog.at_level(logging.WARNING):
            for last in range(30):  # +61491570100 … +61491570129: one range
                visitor = PhoneVisitor(application.test_client(), address=f"198.51.100.{last}")
                visitor.scan()
                statuses.append(visitor.enter_number(f"0491 570 1{last:02d}").status_code)
        sent = [m for m in twilio_stand_in.messages if m.to.startswith("+614915701")]
        assert len(sent) == 10
        assert statuses[:10] == [200] * 10
        assert set(statuses[10:]) == {403}
        assert "can't send a code to this number right now" in error_text(visitor.page)
        assert "Text SPRING to" in error_text(visitor.page)
        blocks = [r for r in caplog.records if r.getMessage() == "sms_pumping_range_blocked"]
        assert len(blocks) == 1  # one warning for the block, not one per refusal
        assert "0491570" not in caplog.text
        assert "+614915701" not in caplog.text
        assert abuse_counts(application, "range_blocked") == 1

        other = PhoneVisitor(application.test_client(), address="203.0.113.99")
        other.scan()
        assert other.enter_number("0491 570 200").status_code == 200
        assert twilio_stand_in.messages_to("+61491570200")

    def test_blocks_are_counted_in_metrics(self, make_app, twilio_stand_in):
        application = make_app(otp_limit_per_ip="1000 per minute", otp_limit_per_range="2 per hour")

        def blocks() -> float:
            text = application.test_client().get("/metrics").get_data(as_text=True)
            match = re.search(r"^selfserve_sms_pumping_blocks_total (\S+)$", text, re.M)
            assert match, "the counter is missing from /metrics"
            return float(match.group(1))

        before = blocks()
        for last in range(4):
            visitor = PhoneVisitor(application.test_client(), address=f"198.51.100.{last}")
            visitor.scan()
            visitor.enter_number(f"0491 570 3{last:02d}")
        assert blocks() == before + 1
        assert len(twilio_stand_in.messages) == 2

    def test_range_digits_zero_turns_the_range_limit_off(self, make_app, twilio_stand_in):
        application = make_app(
            otp_limit_per_ip="1000 per minute", otp_limit_per_range="2 per hour", otp_range_digits=0
        )
        for last in range(4):
            visitor = PhoneVisitor(application.test_client(), address=f"198.51.100.{last}")
            visitor.scan()
            assert visitor.enter_number(f"0491 570 4{last:02d}").status_code == 200
        assert len(twilio_stand_in.messages) == 4


class TestCodeCaps:
    def test_a_new_code_over_the_daily_cap_is_refused_but_a_known_one_is_given(
        self, make_app, talon_stand_in
    ):
        client = make_app(max_new_codes_per_number_per_day=2).test_client()
        first = reply_text(send_text(client, "SUMMER"))
        assert "Your Summer code:" in first
        assert "Your Autumn code:" in reply_text(send_text(client, "AUTUMN"))
        calls = len(talon_stand_in.coupon_requests())
        refused = reply_text(send_text(client, "WINTER"))
        assert "all the new codes" in refused
        assert len(talon_stand_in.coupon_requests()) == calls  # no Talon.One call
        assert reply_text(send_text(client, "SUMMER")) == first
        other = reply_text(send_text(client, "WINTER", sender="+61491570157"))
        assert "Your Winter code:" in other

    def test_a_campaign_can_cap_its_own_new_codes_per_person(self, make_app, talon_stand_in):
        application = make_app()
        client = application.test_client()
        assert "Your Spring code:" in reply_text(send_text(client, "SPRING"))
        calls = len(talon_stand_in.coupon_requests())
        assert "all the new codes" in reply_text(send_text(client, "BLOOM"))
        assert len(talon_stand_in.coupon_requests()) == calls
        assert abuse_counts(application, "cap_refused") == 1

    def test_only_a_customer_who_holds_codes_has_them_counted(self, make_app, talon_stand_in):
        # The fast path's read says whether the customer holds any code: a first code can
        # reach no cap, so it is not counted (one statement less per new customer).
        application = make_app(max_new_codes_per_number_per_day=2)
        counts: list[str] = []

        def remember_counts(connection, cursor, statement, *args):
            if "count(" in statement.lower() and "issued_coupons" in statement:
                counts.append(statement)

        engine = application.extensions["selfserve"].engine
        event.listen(engine, "before_cursor_execute", remember_counts)
        try:
            client = application.test_client()
            assert "Your Summer code:" in reply_text(send_text(client, "SUMMER"))
            assert counts == []
            assert "Your Autumn code:" in reply_text(send_text(client, "AUTUMN"))
            assert counts != []
        finally:
            event.remove(engine, "before_cursor_execute", remember_counts)

    def test_the_landing_page_says_so_politely(self, make_app, twilio_stand_in, talon_stand_in):
        application = make_app(max_new_codes_per_number_per_day=1)
        send_text(application.test_client(), "SUMMER")
        visitor = PhoneVisitor(application.test_client())
        visitor.scan("autumn")
        visitor.enter_number("0491 570 156")
        code = re.search(r"\b(\d{6})\b", twilio_stand_in.messages_to("+61491570156")[-1].body)
        assert code
        calls = len(talon_stand_in.coupon_requests())
        response = visitor.enter_code(code.group(1))
        assert response.status_code == 429
        assert "all the new codes" in visitor.text
        assert len(talon_stand_in.coupon_requests()) == calls


def challenge_of(html: str) -> altcha.Challenge:
    match = re.search(r'data-challenge="([^"]+)"', html)
    assert match, "the number form carries no challenge"
    return altcha.Challenge.from_dict(json.loads(unescape(match.group(1))))


def solved(challenge: altcha.Challenge) -> str:
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()


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


def decoded_qr(png: bytes) -> str:
    [symbol] = pyzbar.decode(Image.open(io.BytesIO(png)).convert("L"))
    return symbol.data.decode()


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
