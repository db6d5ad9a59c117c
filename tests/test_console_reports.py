"""What the console shows: dashboard counts, the message log, stats, CSV, and masked numbers."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from selfserve.console import ConsentCount, consent_counts, daily_stats, dashboard, message_log
from selfserve.customers import ConsentState, pseudonym, record_consent
from selfserve.models import InboundMessage
from tests.conftest import send_text
from tests.console_support import create_console_user, log_in, record_sent_text

CUSTOMERS = ["+61491570156", "+61491570157", "+61491570158"]
NOW = datetime.now(UTC)


@pytest.fixture
def console(app, client):
    create_console_user(app)
    assert log_in(client).status_code == 302
    return client


def add_messages(app, rows: list[dict]) -> None:
    """Write message-log rows directly (times and outcomes a test chooses)."""
    defaults = {"channel": "sms", "phone_masked": "+61 4•• ••• •56", "state": "done"}
    with app.extensions["selfserve"].sessions.begin() as db:
        for number, row in enumerate(rows):
            db.execute(
                insert(InboundMessage).values(
                    **{**defaults, "message_sid": f"SMrows{number:030d}", **row}
                )
            )


def full_number_forms(phone: str) -> list[str]:
    """Every way a full number could show: E.164, national, bare digits, spaced."""
    digits = phone[3:]
    return [
        phone,
        "0" + digits,
        digits,
        f"0{digits[:3]} {digits[3:6]} {digits[6:]}",
        f"+61 {digits[:3]} {digits[3:6]} {digits[6:]}",
    ]


class TestMasking:
    def test_no_console_page_or_file_shows_a_full_number(self, app, console):
        texter = app.test_client()
        for phone in CUSTOMERS:
            send_text(texter, "SPRING", sender=phone)
            send_text(texter, "HELP", sender=phone)
        send_text(texter, "POINTS", sender="whatsapp:" + CUSTOMERS[0])
        with app.extensions["selfserve"].sessions.begin() as db:
            for phone in CUSTOMERS:
                record_sent_text(db, phone, "Your code follows", "deferred_code", "spring")
        pages = [
            "/admin/",
            "/admin/campaigns",
            "/admin/campaigns/spring",
            "/admin/messages",
            "/admin/messages?direction=out",
            "/admin/messages?campaign=spring&outcome=code_issued",
            "/admin/stats",
            "/admin/stats.csv",
            "/admin/stats/daily.csv",
        ]
        shown = {page: console.get(page).get_data(as_text=True) for page in pages}
        assert "+61 4•• ••• •56" in shown["/admin/messages"]
        assert "+61 4•• ••• •57" in shown["/admin/messages?direction=out"]
        for page, text in shown.items():
            for phone in CUSTOMERS:
                for form in full_number_forms(phone):
                    assert form not in text, f"{form} on {page}"

    def test_one_time_codes_in_the_outbox_are_not_shown(self, app, console):
        with app.extensions["selfserve"].sessions.begin() as db:
            record_sent_text(db, CUSTOMERS[0], "Your code is 482913", "otp")
        html = console.get("/admin/messages").get_data(as_text=True)
        assert "482913" not in html
        assert "one-time code, hidden" in html


class TestDashboard:
    def test_each_campaign_shows_todays_and_total_texts_codes_deferred_and_failed(self, app):
        yesterday = NOW - timedelta(days=1)
        add_messages(
            app,
            [
                {"received_at": NOW, "campaign_slug": "spring", "outcome": "code_issued"},
                {"received_at": NOW, "campaign_slug": "spring", "outcome": "code_resent"},
                {"received_at": NOW, "campaign_slug": "spring", "outcome": "deferred"},
                {"received_at": yesterday, "campaign_slug": "spring", "outcome": "code_issued"},
                {"received_at": yesterday, "campaign_slug": "spring", "outcome": "failed"},
                {"received_at": NOW, "campaign_slug": "spring", "outcome": "talon_unavailable"},
                {"received_at": NOW, "campaign_slug": "points", "outcome": "loyalty_balance"},
                {"received_at": NOW, "campaign_slug": None, "outcome": "help"},
            ],
        )
        services = app.extensions["selfserve"]
        with services.sessions() as db:
            board = dashboard(db, services.campaigns.all(), NOW)
        by_slug = {row.slug: row for row in board.campaigns}
        spring = by_slug["spring"].activity
        assert (spring.texts_today, spring.texts_total) == (4, 6)
        assert (spring.codes_today, spring.codes_issued, spring.codes_resent) == (1, 2, 1)
        assert (spring.deferred, spring.failed, spring.failed_today) == (1, 2, 1)
        assert by_slug["points"].activity.balances == 1
        assert by_slug["broken"].activity.texts_total == 0
        assert board.unmatched.texts_total == 1
        assert board.totals.texts_total == 8
        assert by_slug["spring"].keywords == ("SPRING", "BLOOM")

    def test_the_dashboard_page_lists_every_campaign_with_its_keywords(self, app, console):
        send_text(app.test_client(), "SPRING")
        html = console.get("/admin/").get_data(as_text=True)
        for text in (
            "Spring 20% off",
            "Acme Rewards",
            "Misconfigured",
            "SPRING",
            "BLOOM",
            "POINTS",
        ):
            assert text in html
        assert re.search(r"Codes issued today</div>\s*<div class=\"value\">1<", html)


def table_rows(html: str, table_id: str) -> list[str]:
    """The body and footer rows of a table as a person reads them: cells' words, one line."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, flags=re.S)
    assert table, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(0).split("</thead>")[1], flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def add_consent(app, rows: list[tuple]) -> None:
    """Write consent records directly: (phone, state, method, campaign, source, hours ago)."""
    with app.extensions["selfserve"].sessions.begin() as db:
        for phone, state, method, campaign, source, hours_ago in rows:
            record_consent(
                db,
                phone,
                ConsentState(state),
                method,
                "wording",
                campaign_slug=campaign,
                source=source,
                at=NOW - timedelta(hours=hours_ago),
            )


class TestConsentCounts:
    def test_each_number_counts_once_by_its_newest_record_per_campaign_and_source(self, app):
        add_consent(
            app,
            [
                ("+61491570101", "consented", "web", "spring", "window-1", 9),
                ("+61491570101", "revoked", "keyword", "spring", "window-1", 2),
                ("+61491570102", "consented", "web", "spring", "window-1", 8),
                ("+61491570103", "consented", "web", "spring", "till-2", 8),
                ("+61491570104", "pending", "keyword", "club", None, 7),
                ("+61491570105", "pending", "keyword", "club", None, 7),
                ("+61491570105", "consented", "keyword", "club", None, 6),
                # Written out of order: the newer record (by time) is the older row.
                ("+61491570106", "pending", "keyword", "club", None, 1),
                ("+61491570106", "consented", "web", "spring", "window-1", 5),
                ("+61491570107", "consented", "import", None, "import", 30),
                ("+61491570108", "consented", "import", None, None, 30),  # before import sources
                ("+61491570109", "consented", "web", "points", None, 3),
            ],
        )
        with app.extensions["selfserve"].sessions() as db:
            counts = consent_counts(db)
        assert counts == [
            ConsentCount("club", "", consented=1, pending=2, revoked=0),
            ConsentCount("points", "", consented=1, pending=0, revoked=0),
            ConsentCount("spring", "till-2", consented=1, pending=0, revoked=0),
            ConsentCount("spring", "window-1", consented=1, pending=0, revoked=1),
            ConsentCount(None, "import", consented=2, pending=0, revoked=0),
        ]

    def test_the_dashboard_shows_the_counts_per_campaign_and_source(
        self, app, console, runner, tmp_path
    ):
        directory = tmp_path / "customers.csv"
        directory.write_text(
            "phone,customer_id,sms_consent\n0491570101,C-1,yes\n0491570102,C-2,yes\n"
        )
        runner.invoke(args=["customers", "import", str(directory)])
        add_consent(
            app,
            [
                ("+61491570156", "consented", "web", "spring", "window-1", 3),
                ("+61491570157", "consented", "web", "spring", "window-1", 2),
            ],
        )
        texter = app.test_client()
        send_text(texter, "STOP", sender="+61491570157")  # a revoke keeps the poster's source
        send_text(texter, "STOP", sender="+61491570102")
        html = console.get("/admin/").get_data(as_text=True)
        assert table_rows(html, "consent-table") == [
            "Spring 20% off spring window-1 1 0 1",
            "no campaign import customer directory 1 0 1",
            "All numbers 2 0 2",
        ]

    def test_with_no_consent_the_dashboard_says_how_customers_give_it(self, console):
        html = console.get("/admin/").get_data(as_text=True)
        assert "No marketing consent yet" in html
        assert 'id="consent-table"' not in html


class TestMessageLog:
    def test_newest_first_with_received_and_sent_texts_together(self, app):
        add_messages(
            app,
            [
                {
                    "received_at": NOW - timedelta(minutes=5),
                    "campaign_slug": "spring",
                    "outcome": "code_issued",
                    "reply": "first",
                },
                {
                    "received_at": NOW - timedelta(minutes=1),
                    "campaign_slug": "points",
                    "outcome": "loyalty_balance",
                    "reply": "third",
                },
            ],
        )
        with app.extensions["selfserve"].sessions.begin() as db:
            record = record_sent_text(db, CUSTOMERS[1], "second", "deferred_code", "spring")
            record.created_at = NOW - timedelta(minutes=3)
        with app.extensions["selfserve"].sessions() as db:
            page = message_log(db)
        assert [entry.text for entry in page.entries] == ["third", "second", "first"]
        assert [entry.direction for entry in page.entries] == ["in", "out", "in"]
        assert page.entries[1].phone_masked == "+61 4•• ••• •57"
        assert page.entries[0].at.tzinfo is not None

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({"campaign_slug": "spring"}, ["sent", "a"]),
            ({"outcome": "failed"}, ["c"]),
            ({"campaign_slug": "spring", "outcome": "code_issued"}, ["a"]),
            ({"direction": "out"}, ["sent"]),
            ({"direction": "in", "campaign_slug": "points"}, ["b"]),
        ],
    )
    def test_filters_by_campaign_outcome_and_direction(self, app, filters, expected):
        add_messages(
            app,
            [
                {
                    "received_at": NOW - timedelta(minutes=9),
                    "campaign_slug": "spring",
                    "outcome": "code_issued",
                    "reply": "a",
                },
                {
                    "received_at": NOW - timedelta(minutes=8),
                    "campaign_slug": "points",
                    "outcome": "loyalty_balance",
                    "reply": "b",
                },
                {
                    "received_at": NOW - timedelta(minutes=7),
                    "campaign_slug": "broken",
                    "outcome": "failed",
                    "reply": "c",
                },
            ],
        )
        with app.extensions["selfserve"].sessions.begin() as db:
            record_sent_text(db, CUSTOMERS[0], "sent", "deferred_code", "spring")
        with app.extensions["selfserve"].sessions() as db:
            page = message_log(db, **filters)
        assert [entry.text for entry in page.entries] == expected

    def test_the_filters_offer_the_campaigns_and_outcomes_in_the_log(
        self, app, console, settings, talon_stand_in
    ):
        texter = app.test_client()
        talon_stand_in.add_profile(pseudonym("+61491570156", settings.identity_secret), 7)
        send_text(texter, "POINTS")
        send_text(texter, "HELLO")
        with app.extensions["selfserve"].sessions.begin() as db:
            record_sent_text(db, CUSTOMERS[0], "later", "deferred_code", "broken")
        html = console.get("/admin/messages").get_data(as_text=True)
        campaigns = re.search(r'name="campaign">(.*?)</select>', html, re.DOTALL).group(1)
        outcomes = re.search(r'name="outcome">(.*?)</select>', html, re.DOTALL).group(1)
        assert re.findall(r'<option value="(\w+)"', campaigns) == ["broken", "points"]
        for outcome in ("loyalty_balance", "unknown_keyword", "sandboxed", "code_issued"):
            assert f'<option value="{outcome}"' in outcomes

    def test_pages_of_fifty_link_to_older_and_newer(self, app, console):
        add_messages(
            app,
            [
                {
                    "received_at": NOW - timedelta(seconds=number),
                    "outcome": "help",
                    "reply": f"reply number {number}.",
                }
                for number in range(55)
            ],
        )
        first = console.get("/admin/messages").get_data(as_text=True)
        assert "reply number 0." in first
        assert "reply number 49." in first
        assert "reply number 50." not in first
        assert "/admin/messages?page=2" in first
        second = console.get("/admin/messages?page=2").get_data(as_text=True)
        assert "reply number 50." in second
        assert "reply number 54." in second
        assert "reply number 0." not in second
        assert "/admin/messages?page=1" in second
        assert "/admin/messages?page=3" not in second

    def test_an_odd_page_number_shows_the_first_page(self, app, console):
        add_messages(app, [{"received_at": NOW, "outcome": "help", "reply": "the only reply"}])
        for page in ("0", "-1", "abc", "99999999999", "1.5"):
            response = console.get(f"/admin/messages?page={page}")
            assert response.status_code == 200
            assert "the only reply" in response.get_data(as_text=True)


class TestStats:
    def test_texts_and_codes_per_utc_day_and_per_source(self, app):
        add_messages(
            app,
            [
                {"received_at": NOW, "outcome": "code_issued", "source": "shop-1"},
                {"received_at": NOW, "outcome": "code_resent", "source": "shop-1"},
                {"received_at": NOW, "outcome": "code_issued"},
                {"received_at": NOW - timedelta(days=2), "outcome": "code_issued", "source": "tv"},
                {"received_at": NOW - timedelta(days=40), "outcome": "code_issued"},
            ],
        )
        with app.extensions["selfserve"].sessions() as db:
            stats = daily_stats(db, NOW, days=7)
        assert len(stats.days) == 7
        assert stats.days[-1].day == NOW.date()
        assert (stats.days[-1].texts, stats.days[-1].codes) == (3, 2)
        assert (stats.days[-3].texts, stats.days[-3].codes) == (1, 1)
        assert stats.total_texts == 4
        assert [(s.source, s.texts, s.codes) for s in stats.sources] == [
            ("shop-1", 2, 1),
            ("", 1, 1),
            ("tv", 1, 1),
        ]

    def test_a_text_just_before_midnight_utc_counts_on_its_own_day(self, app):
        today = datetime(NOW.year, NOW.month, NOW.day, tzinfo=UTC)
        add_messages(
            app,
            [
                {"received_at": today - timedelta(microseconds=1), "outcome": "code_issued"},
                {"received_at": today, "outcome": "help"},
            ],
        )
        with app.extensions["selfserve"].sessions() as db:
            stats = daily_stats(db, NOW, days=2)
        assert [(day.texts, day.codes) for day in stats.days] == [(1, 1), (1, 0)]

    def test_the_page_draws_an_svg_chart_and_the_table_behind_it(self, app, console):
        send_text(app.test_client(), "SPRING")
        html = console.get("/admin/stats?days=7").get_data(as_text=True)
        chart = re.search(
            r'<svg class="chart"[^>]*id="chart-days".*?</svg>', html, re.DOTALL
        ).group(0)
        assert 'role="img"' in chart
        assert re.search(r'<rect class="bar-texts"[^>]*height="[1-9]', chart)
        assert re.search(r'<rect class="bar-codes"[^>]*height="[1-9]', chart)
        assert "1 texts, 1 codes issued" in chart
        assert 'id="stats-table"' in html
        assert "<script" not in html

    def test_the_csv_has_a_row_per_day_and_source(self, app, console):
        add_messages(
            app,
            [
                {"received_at": NOW, "outcome": "code_issued", "source": "shop-1"},
                {"received_at": NOW, "outcome": "unknown_keyword", "source": "=HYPERLINK(1)"},
                {"received_at": NOW, "outcome": "code_issued"},
            ],
        )
        response = console.get("/admin/stats/daily.csv?days=7")
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"].startswith("attachment; filename=")
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        today = NOW.date().isoformat()
        assert {(r["date"], r["source"], r["texts"], r["codes_issued"]) for r in rows} == {
            (today, "direct", "1", "1"),
            (today, "shop-1", "1", "1"),
            (today, "'=HYPERLINK(1)", "1", "0"),
        }
