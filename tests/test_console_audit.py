"""The audit trail: what is recorded, the owners' page and CSV, `audit verify|export|prune`."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from selfserve.console import append_event, mask_numbers, verify_chain
from selfserve.models import AuditEvent, utcnow
from tests.conftest import import_campaigns_text
from tests.console_support import PASSWORD, create_console_user, csrf_token, log_in, post_form

OWNER = "owner@acme.example"
EDITOR = "editor@acme.example"
VIEWER = "viewer@acme.example"
OLD_REPLY = "Your Spring code: {code} (valid until {expiry:%d %b})"
NEW_REPLY = "Spring is here! Your code: {code}"
NUMBER = "+61491570006"
COMPETITION = """
[[campaign]]
slug = "bike"
name = "Win a bike"
keywords = ["BIKE"]
action = "competition"
closes_at = "2026-01-31T00:00:00"
reply = "You're in! Entry {entry_number}."
"""


def _logged_in(app, email: str, role: str):
    create_console_user(app, email, PASSWORD, role)
    client = app.test_client()
    assert log_in(client, email).status_code == 302
    return client


def _edit_reply(client, reply: str):
    return post_form(
        client,
        "/admin/campaigns/spring",
        "/admin/campaigns/spring",
        {
            "name": "Spring 20% off",
            "keywords": "SPRING, BLOOM",
            "action": "coupon",
            "active": "on",
            "application_id": "12",
            "campaign_id": "34",
            "external_campaign_id": "sms-spring",
            "identifier": "{customer_id}:{campaign_id}",
            "recipient": "on",
            "reply": reply,
        },
    )


def _csv_rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def owner(app):
    return _logged_in(app, OWNER, "owner")


class TestTheOwnersPage:
    def test_a_reply_edit_shows_the_editor_and_the_old_and_new_reply(self, app, owner):
        editor = _logged_in(app, EDITOR, "editor")
        assert _edit_reply(editor, NEW_REPLY).status_code == 302
        page = owner.get("/admin/audit?action=campaign_edit").get_data(as_text=True)
        assert EDITOR in page
        assert "{code} (valid until {expiry:%d %b})" in page  # the old reply, escaped
        assert "Spring is here! Your code: {code}" in page
        download = owner.get("/admin/audit.csv")
        assert download.headers["Content-Disposition"].startswith("attachment")
        edits = [
            row for row in _csv_rows(download.get_data(as_text=True)) if row["field"] == "reply"
        ]
        assert [(row["actor"], row["target"], row["before"], row["after"]) for row in edits] == [
            (EDITOR, "spring", OLD_REPLY, NEW_REPLY)
        ]

    def test_a_failed_log_in_and_a_refused_viewer_action_appear(self, app, owner):
        assert log_in(app.test_client(), OWNER, "not-the-password-at-all").status_code == 401
        viewer = _logged_in(app, VIEWER, "viewer")
        token = csrf_token(viewer, "/admin/")
        assert (
            viewer.post("/admin/campaigns/spring/pause", data={"csrf_token": token}).status_code
            == 403
        )
        rows = _csv_rows(owner.get("/admin/audit.csv").get_data(as_text=True))
        found = {(row["actor"], row["action"], row["outcome"]) for row in rows}
        assert (OWNER, "login", "failed") in found
        assert (VIEWER, "pause_campaign", "refused (403): needs editor") in found
        page = owner.get(f"/admin/audit?actor={VIEWER}").get_data(as_text=True)
        assert "refused (403): needs editor" in page
        assert (
            "login"
            not in owner.get(f"/admin/audit?actor={VIEWER}&action=pause_campaign")
            .get_data(as_text=True)
            .split("<tbody>")[1]
        )

    def test_the_date_filter_keeps_the_day_asked_for(self, app, owner):
        today = utcnow().date()
        assert OWNER in owner.get(f"/admin/audit?since={today}&until={today}").get_data(
            as_text=True
        )
        yesterday = today - timedelta(days=1)
        page = owner.get(f"/admin/audit?until={yesterday}").get_data(as_text=True)
        assert "Nothing recorded that matches" in page


class TestTheCommandLine:
    def test_commands_that_reveal_numbers_are_audited_with_the_number_masked(self, app, runner):
        result = runner.invoke(args=["customers", "export-data", NUMBER])
        assert result.exit_code == 0, result.output
        exported = runner.invoke(args=["audit", "export"])
        rows = _csv_rows(exported.output)
        assert any(
            row["action"] == "customer_export_data" and row["actor"].startswith("cli:")
            for row in rows
        )
        assert "570006" not in exported.output
        assert "491570006" not in exported.output

    def test_export_writes_a_file(self, app, runner, tmp_path):
        runner.invoke(args=["users", "create", OWNER, "--password", PASSWORD])
        target = tmp_path / "audit.csv"
        assert runner.invoke(args=["audit", "export", str(target)]).exit_code == 0
        rows = _csv_rows(target.read_text(encoding="utf-8"))
        assert [row["action"] for row in rows][:1] == ["user_create"]


def _rows(app) -> list[int]:
    with app.extensions["selfserve"].sessions() as db:
        return list(db.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


@pytest.fixture
def trail(app, runner):
    for number in range(4):
        runner.invoke(
            args=["users", "create", f"user{number}@acme.example", "--password", PASSWORD]
        )
    return _rows(app)


class TestVerify:
    def test_an_untouched_trail_is_intact(self, runner, trail):
        result = runner.invoke(args=["audit", "verify"])
        assert result.exit_code == 0, result.output
        assert f"{len(trail)} rows checked" in result.output

    def test_a_row_changed_in_the_database_is_named(self, app, runner, trail):
        edited = trail[1]
        with app.extensions["selfserve"].writes.begin() as db:
            db.execute(update(AuditEvent).where(AuditEvent.id == edited).values(actor="someone"))
        result = runner.invoke(args=["audit", "verify"])
        assert result.exit_code == 1
        assert f"audit row {edited}: edited" in result.output
        assert f"audit row {trail[2]}" not in result.output

    def test_a_deleted_row_is_found_at_the_row_after_it(self, app, runner, trail):
        with app.extensions["selfserve"].writes.begin() as db:
            db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": trail[1]})
        result = runner.invoke(args=["audit", "verify"])
        assert result.exit_code == 1
        assert f"audit row {trail[2]}: the row before it" in result.output


class TestRetention:
    def test_pruning_old_rows_keeps_the_rest_verifiable(self, app, runner):
        old = utcnow() - timedelta(days=500)
        with app.extensions["selfserve"].writes.begin() as db:
            for number in range(3):
                append_event(
                    db, at=old, actor="cli:ops", action="old", target=str(number), outcome="ok"
                )
        runner.invoke(args=["users", "create", OWNER, "--password", PASSWORD])
        pruned = runner.invoke(args=["audit", "prune"])
        assert pruned.exit_code == 0, pruned.output
        assert "pruned 3 audit rows older than 400 days" in pruned.output
        verified = runner.invoke(args=["audit", "verify"])
        assert verified.exit_code == 0, verified.output
        first_kept = _rows(app)[0]
        with app.extensions["selfserve"].writes.begin() as db:
            db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": first_kept})
        assert runner.invoke(args=["audit", "verify"]).exit_code == 1


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("+61491570006", "+61 4•• ••• •06"),
        ("call +61 491 570 006 now", "call +61 4•• ••• •06 now"),
        ("campaign 34, app 12", "campaign 34, app 12"),
        ("opens 2026-03-01 09:00", "opens 2026-03-01 09:00"),
        ("0491 570 006", "••••••••06"),
    ],
)
def test_numbers_are_masked_before_they_are_stored(written, stored):
    assert mask_numbers(written) == stored


@pytest.mark.parametrize(
    ("arguments", "action"),
    [
        (["consent", "export", "--reveal"], "consent_export_reveal"),
        (["customers", "forget", NUMBER, "--yes"], "customer_forget"),
        (["campaigns", "warm", "spring"], "campaign_warm"),
        (["competitions", "draw", "bike", "--winners", "1"], "competition_draw"),
        (["users", "list"], "user_list"),
    ],
)
def test_commands_that_change_data_or_reveal_numbers_are_audited(app, runner, arguments, action):
    import_campaigns_text(app, COMPETITION)
    runner.invoke(args=arguments)
    with app.extensions["selfserve"].sessions() as db:
        rows = db.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
    assert len(rows) == 1
    assert rows[0].actor.startswith("cli:")
    assert "491570006" not in rows[0].target


def test_campaigns_import_is_audited_with_the_file_name(app, runner, tmp_path):
    campaigns = tmp_path / "spring-campaigns.toml"
    campaigns.write_text(runner.invoke(args=["campaigns", "export"]).output, encoding="utf-8")
    assert runner.invoke(args=["campaigns", "import", str(campaigns)]).exit_code == 0
    with app.extensions["selfserve"].sessions() as db:
        row = db.scalars(select(AuditEvent).where(AuditEvent.action == "campaigns_import")).one()
    assert (row.target, row.outcome) == ("spring-campaigns.toml", "ok")


def test_the_worker_prunes_past_retention_and_says_so_in_the_trail(app):
    with app.extensions["selfserve"].writes.begin() as db:
        append_event(
            db,
            at=utcnow() - timedelta(days=401),
            actor="cli:ops",
            action="old",
            target="",
            outcome="ok",
        )
        append_event(db, at=utcnow(), actor="cli:ops", action="new", target="", outcome="ok")
    assert app.extensions["selfserve"].jobs.prune_audit() == 1
    with app.extensions["selfserve"].sessions() as db:
        actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert verify_chain(db).is_intact
    assert actions == ["new", "audit_prune"]
