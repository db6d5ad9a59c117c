"""The customer's data rights: FORGET ME then FORGET by text, `customers export-data` and
`customers forget` on the command line."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from selfserve.models import Customer, Erasure, ErasureRequest, InboundMessage, utcnow
from tests.conftest import import_campaigns_text, reply_text, send_text

PHONE = "+61491570156"
LOCAL = "0491 570 156"
CAMPAIGNS = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING"]
application_id = 12
campaign_id = 34
reply = "Your Spring code: {code}"

[[campaign]]
slug = "club"
name = "Acme SMS Club"
keywords = ["JOIN"]
action = "subscribe"
reply = "Reply Y to get Acme offers by SMS. Reply STOP to cancel."
"""


@pytest.fixture
def rights_app(app, tmp_path, runner):
    import_campaigns_text(app, CAMPAIGNS)
    directory = tmp_path / "customers.csv"
    directory.write_text(f"phone,customer_id,first_name\n{PHONE},CUST-1,Alex\n")
    assert runner.invoke(args=["customers", "import", str(directory)]).exit_code == 0
    return app


def export_of(runner, number=PHONE) -> dict:
    result = runner.invoke(args=["customers", "export-data", number])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def consent_export(runner, reveal=True) -> str:
    args = ["consent", "export"] + (["--reveal"] if reveal else [])
    return runner.invoke(args=args).output


class TestExport:
    def test_export_lists_directory_codes_texts_and_consent(self, rights_app, client, runner):
        code = reply_text(send_text(client, "SPRING", PHONE)).split(": ")[1]
        send_text(client, "JOIN", PHONE)
        send_text(client, "Y", PHONE)
        export = export_of(runner, LOCAL)
        assert export["directory"][0]["customer_id"] == "CUST-1"
        assert export["codes"][0]["code"] == code
        assert export["codes"][0]["campaign_slug"] == "spring"
        assert any(code in (text["reply"] or "") for text in export["texts_received"])
        assert [record["state"] for record in export["consent"]] == ["pending", "consented"]


class TestForgetByText:
    def forget(self, client) -> str:
        asked = reply_text(send_text(client, "Forget me", PHONE))
        assert asked == (
            "Reply FORGET to erase your data from Acme Rewards. Your codes will stop working here."
        )
        return reply_text(send_text(client, "FORGET", PHONE))

    def test_forget_me_then_forget_erases_and_keeps_the_number_opted_out(
        self, rights_app, client, runner, talon_stand_in
    ):
        send_text(client, "SPRING", PHONE)
        send_text(client, "JOIN", PHONE)
        send_text(client, "Y", PHONE)
        assert "erased" in self.forget(client)
        export = export_of(runner)
        assert export["directory"] == []
        assert export["codes"] == []
        assert export["texts_received"] == []
        assert export["consent"] == []
        calls_before = len(talon_stand_in.requests)
        assert reply_text(send_text(client, "SPRING", PHONE)) is None  # still opted out
        assert len(talon_stand_in.requests) == calls_before
        trail = consent_export(runner)
        assert "491570156" not in trail
        assert trail.count("erased") == 2  # the trail keeps its rows, without the number

    def test_the_log_keeps_counts_without_bodies_or_numbers(self, rights_app, client, runner):
        send_text(client, "SPRING", PHONE)
        self.forget(client)
        services = rights_app.extensions["selfserve"]
        services.returning.flush()
        with services.sessions() as db:
            rows = db.execute(select(InboundMessage)).scalars().all()
            erasure = db.scalars(select(Erasure)).one()
        assert len(rows) == 3
        assert {row.reply for row in rows[:2]} == {None}
        assert all(row.phone_masked.startswith("~") for row in rows)
        assert len({row.customer_id for row in rows}) == 1
        assert erasure.method == "sms"
        assert "491570156" not in erasure.row_counts
        assert json.loads(erasure.row_counts)["customers"] == 1

    def test_a_forget_after_ten_minutes_erases_nothing(self, rights_app, client, runner):
        send_text(client, "SPRING", PHONE)
        send_text(client, "FORGET ME", PHONE)
        services = rights_app.extensions["selfserve"]
        with services.writes.begin() as db:
            db.execute(update(ErasureRequest).values(asked_at=utcnow() - timedelta(minutes=11)))
        reply = reply_text(send_text(client, "FORGET", PHONE))
        assert "didn't recognise" in reply
        assert export_of(runner)["codes"] != []

    def test_forget_works_with_talon_one_down(self, rights_app, client, runner, talon_stand_in):
        send_text(client, "SPRING", PHONE)
        talon_stand_in.down = True
        assert "erased" in self.forget(client)
        assert export_of(runner)["codes"] == []


class TestForgetCommand:
    def test_an_unknown_number_is_told_so_and_exits_0(self, rights_app, runner):
        result = runner.invoke(args=["customers", "forget", "+61491570999", "--yes"])
        assert result.exit_code == 0
        assert "nothing is stored" in result.output

    def test_forget_erases_once_and_a_second_time_changes_nothing(
        self, rights_app, client, runner, caplog
    ):
        send_text(client, "SPRING", PHONE)
        first = runner.invoke(args=["customers", "forget", LOCAL, "--yes"])
        assert first.exit_code == 0
        assert "erased" in first.output
        second = runner.invoke(args=["customers", "forget", LOCAL, "--yes"])
        assert "nothing is stored" in second.output
        services = rights_app.extensions["selfserve"]
        with services.sessions() as db:
            assert db.scalar(select(Customer).where(Customer.phone_e164 == PHONE)) is None
            assert len(db.scalars(select(Erasure)).all()) == 1
        assert reply_text(send_text(client, "SPRING", PHONE)) is None
        assert "491570156" not in caplog.text

    def test_without_yes_it_asks_first(self, rights_app, client, runner):
        send_text(client, "SPRING", PHONE)
        result = runner.invoke(args=["customers", "forget", PHONE], input="n\n")
        assert result.exit_code == 1
        assert export_of(runner)["codes"] != []
