"""The console's dashboard: counts, consent counts and masked numbers."""

from __future__ import annotations

import re
from datetime import timedelta

from selfserve.console import ConsentCount, consent_counts, dashboard
from tests.conftest import send_text
from tests.console_reports.conftest import (
    CUSTOMERS,
    NOW,
    add_consent,
    add_messages,
    full_number_forms,
    table_rows,
)
from tests.console_support import record_sent_text


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
