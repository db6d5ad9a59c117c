"""Marketing consent: double opt-in by keyword, the import column, the trail, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from selfserve.customers import (
    ConsentState,
    marketing_skip_reason,
    next_send_time,
    recipient_zone,
    record_consent,
)
from selfserve.errors import SettingsError
from selfserve.models import ConsentRecord, OptOut
from selfserve.ops import (
    QuietHours,
)
from tests.conftest import import_campaigns_text, reply_text, send_text

CLUB = """
[[campaign]]
slug = "club"
name = "Acme SMS Club"
keywords = ["JOIN"]
action = "subscribe"
reply = "Reply Y to get Acme offers by SMS (max 4/month). Msg&data rates may apply. \
Reply STOP to cancel."
confirm_reply = "Welcome to the Acme SMS Club! Reply STOP to cancel."
"""
NUMBER = "+61491570156"


@pytest.fixture
def club_app(app):
    import_campaigns_text(app, CLUB)
    return app


def trail(app, phone: str = NUMBER) -> list[tuple[str, str, str | None]]:
    with app.extensions["selfserve"].sessions() as db:
        return [
            (r.state, r.method, r.campaign_slug)
            for r in db.scalars(
                select(ConsentRecord)
                .where(ConsentRecord.phone_e164 == phone)
                .order_by(ConsentRecord.id)
            )
        ]


def skip_reason(app, phone: str = NUMBER) -> str | None:
    with app.extensions["selfserve"].sessions() as db:
        return marketing_skip_reason(db, phone)


class TestDoubleOptIn:
    def test_join_then_y_records_consent_with_the_exact_wording(self, club_app, client):
        asked = reply_text(send_text(client, "JOIN"))
        assert asked.startswith("Reply Y to get Acme offers")
        assert trail(club_app) == [("pending", "keyword", "club")]
        assert skip_reason(club_app) == "consent pending (never replied Y)"
        confirmed = reply_text(send_text(client, "y"))
        assert confirmed == "Welcome to the Acme SMS Club! Reply STOP to cancel."
        assert trail(club_app)[-1] == ("consented", "keyword", "club")
        with club_app.extensions["selfserve"].sessions() as db:
            newest = db.scalars(select(ConsentRecord).order_by(ConsentRecord.id.desc())).first()
        assert newest.wording == asked
        assert skip_reason(club_app) is None

    def test_yes_confirms_a_pending_join_too(self, club_app, client):
        send_text(client, "JOIN")
        assert reply_text(send_text(client, "YES")).startswith("Welcome to the Acme SMS Club")
        assert trail(club_app)[-1][0] == "consented"

    def test_y_with_nothing_pending_gets_the_help_text(self, club_app, client):
        reply = reply_text(send_text(client, "Y"))
        assert "Msg&data rates may apply" in reply
        assert trail(club_app) == []

    def test_yes_with_nothing_pending_is_only_an_opt_in(self, club_app, client):
        assert reply_text(send_text(client, "YES")) is None
        assert trail(club_app) == []

    def test_a_join_older_than_a_day_cannot_be_confirmed(self, club_app, client):
        with club_app.extensions["selfserve"].sessions.begin() as db:
            record_consent(
                db,
                NUMBER,
                ConsentState.PENDING,
                "keyword",
                "Reply Y …",
                campaign_slug="club",
                at=datetime.now(UTC) - timedelta(hours=25),
            )
        assert "Msg&data" in reply_text(send_text(client, "Y"))
        assert trail(club_app) == [("pending", "keyword", "club")]

    def test_stop_after_consent_revokes_and_opts_out_keeping_the_trail(self, club_app, client):
        send_text(client, "JOIN")
        send_text(client, "Y")
        assert reply_text(send_text(client, "STOP")) is None
        assert [state for state, _, _ in trail(club_app)] == ["pending", "consented", "revoked"]
        assert trail(club_app)[-1][1] == "keyword"  # one revoke, saying how it came
        with club_app.extensions["selfserve"].sessions() as db:
            assert db.get(OptOut, NUMBER).opted_out is True
        assert skip_reason(club_app) == "opted out (STOP)"

    def test_a_revoke_names_the_campaign_and_source_of_the_consent_it_ends(self, app, client):
        with app.extensions["selfserve"].sessions.begin() as db:
            record_consent(
                db,
                NUMBER,
                ConsentState.CONSENTED,
                "web",
                "Send me offers by SMS.",
                campaign_slug="spring",
                source="window-1",
            )
        send_text(client, "STOP")
        with app.extensions["selfserve"].sessions() as db:
            records = db.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).all()
        assert [(r.state, r.method, r.campaign_slug, r.source) for r in records] == [
            ("consented", "web", "spring", "window-1"),
            ("revoked", "keyword", "spring", "window-1"),
        ]

    def test_a_subscribe_campaign_must_ask_for_y(self, runner, tmp_path):
        bad = tmp_path / "club.toml"
        bad.write_text(CLUB.replace("Reply Y to get", "Reply YES to get"))
        result = runner.invoke(args=["campaigns", "import", str(bad)])
        assert result.exit_code == 1
        assert "campaign club, field reply: must ask the customer to reply Y" in result.output


class TestImport:
    def test_only_rows_with_sms_consent_yes_get_consent(self, app, runner, tmp_path):
        csv = tmp_path / "customers.csv"
        csv.write_text(
            "phone,customer_id,sms_consent,consent_date\n"
            "0491570156,C-1,yes,2026-03-01\n"
            "0491570157,C-2,no,\n"
            "0491570158,C-3,,\n"
            "0491570159,C-4,YES,\n"
            "0491570160,C-5,maybe,\n"
        )
        result = runner.invoke(args=["customers", "import", str(csv)])
        assert "4 imported" in result.output
        assert "2 marketing consent(s) recorded" in result.output
        assert "line 6: sms_consent must be yes, no or blank" in result.output
        assert skip_reason(app, "+61491570156") is None
        assert skip_reason(app, "+61491570159") is None
        assert skip_reason(app, "+61491570157") == "no marketing consent"
        assert skip_reason(app, "+61491570158") == "no marketing consent"
        with app.extensions["selfserve"].sessions() as db:
            first = db.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).first()
        assert (first.method, first.recorded_at.date().isoformat()) == ("import", "2026-03-01")
        assert (first.campaign_slug, first.source) == (None, "import")
        again = runner.invoke(args=["customers", "import", str(csv)])
        assert "0 marketing consent(s) recorded" in again.output

    def test_a_directory_without_the_column_gives_nobody_consent(self, app, runner, tmp_path):
        csv = tmp_path / "customers.csv"
        csv.write_text("phone,customer_id\n0491570156,C-1\n")
        runner.invoke(args=["customers", "import", str(csv)])
        assert skip_reason(app) == "no marketing consent"


class TestExport:
    def test_the_trail_is_exported_masked_unless_revealed(
        self, club_app, client, runner, tmp_path, caplog
    ):
        send_text(client, "JOIN")
        send_text(client, "Y")
        masked = runner.invoke(args=["consent", "export"])
        assert masked.exit_code == 0
        assert "491570156" not in masked.output
        assert "+61 4•• ••• •56" in masked.output
        assert masked.output.count("keyword") == 2
        target = tmp_path / "consent.csv"
        revealed = runner.invoke(args=["consent", "export", str(target), "--reveal"])
        assert revealed.exit_code == 0
        assert NUMBER in target.read_text()
        assert "consent_export_revealed" in caplog.text


class TestQuietHours:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("21:00-08:00", QuietHours(time(21), time(8))),
            ("22:30 - 07:15", QuietHours(time(22, 30), time(7, 15))),
            ("off", None),
        ],
    )
    def test_the_setting_is_read(self, text, expected):
        assert QuietHours.parse(text) == expected

    @pytest.mark.parametrize("text", ["9pm-8am", "25:00-08:00", "21:00"])
    def test_a_bad_setting_names_the_variable(self, text):
        with pytest.raises(SettingsError, match="QUIET_HOURS"):
            QuietHours.parse(text)

    def test_a_text_at_midday_local_time_goes_now(self):
        now = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 12:00 in Sydney
        assert next_send_time("+61491570156", now, QuietHours(time(21), time(8))) == now

    def test_a_text_at_night_waits_until_eight_local_time(self):
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # 22:00 in Sydney (AEST, UTC+10)
        when = next_send_time("+61491570156", now, QuietHours(time(21), time(8)))
        assert when == datetime(2026, 6, 1, 22, 0, tzinfo=UTC)  # 08:00 next day in Sydney

    def test_the_same_moment_is_quiet_in_one_country_and_not_another(self):
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        quiet = QuietHours(time(21), time(8))
        assert next_send_time("+442079460018", now, quiet) == now  # 13:00 in London
        assert next_send_time("+61491570156", now, quiet) > now  # 22:00 in Sydney

    def test_after_midnight_it_waits_for_the_same_morning(self):
        now = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)  # 03:00 in London
        when = next_send_time("+447700900123", now, QuietHours(time(21), time(8)))
        assert when == datetime(2026, 1, 10, 8, 0, tzinfo=UTC)

    def test_off_sends_at_any_hour(self):
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        assert next_send_time("+61491570156", now, None) == now

    def test_a_country_with_several_zones_uses_its_main_one(self):
        assert recipient_zone("+61491570156").key == "Australia/Sydney"
        assert recipient_zone("+442079460018").key == "Europe/London"
