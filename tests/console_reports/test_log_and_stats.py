"""The console's message log, stats and CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from selfserve.console import daily_stats, message_log
from selfserve.customers import pseudonym
from tests.conftest import send_text
from tests.console_reports.conftest import (
    CUSTOMERS,
    NOW,
    add_messages,
)
from tests.console_support import record_sent_text


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
