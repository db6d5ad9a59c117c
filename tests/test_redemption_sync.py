"""The redemption sync: Talon.One's acceptCoupon/rollbackCoupon effects into our reports,
once each, resumable, and patient with Talon.One's rate limit (coupons/redemptions.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert

from selfserve.coupons import LANDING, TEXT, Touch
from selfserve.models import IssuedCoupon, RedemptionCursor, utcnow
from tests.redemption_support import (
    APPLICATION_ID,
    TALON_CAMPAIGN_ID,
    Waits,
    ago,
    fast_sync,
    issue_code,
    live_codes,
    redemptions,
)

SPRING = (APPLICATION_ID, TALON_CAMPAIGN_ID)


def test_the_cli_keeps_each_redemption_once_and_a_second_run_changes_nothing(
    redemption_app, talon_management
):
    code = issue_code(redemption_app, "cust-1", Touch(TEXT, "SPRING"))
    talon_management.redeem(*SPRING, code, revenue="42.50", store="store-7")
    runner = redemption_app.test_cli_runner()

    first = runner.invoke(args=["redemptions", "sync"])
    second = runner.invoke(args=["redemptions", "sync"])

    assert first.exit_code == 0, first.output
    assert "1 new redemption(s)" in first.output
    assert second.exit_code == 0, second.output
    assert "0 new redemption(s)" in second.output
    [kept] = redemptions(redemption_app)
    assert kept.total_revenue == Decimal("42.50")
    assert kept.store_integration_id == "store-7"
    assert kept.rolled_back_at is None
    asked = talon_management.requests[0]
    assert asked.headers["Authorization"].startswith("ManagementKey-v1 ")
    assert asked.args["campaignId"] == "34"


def test_a_rolled_back_redemption_no_longer_counts(redemption_app, talon_management):
    kept_code = issue_code(redemption_app, "cust-1", Touch(TEXT, "SPRING"))
    undone_code = issue_code(redemption_app, "cust-2", Touch(LANDING, source="station"))
    talon_management.redeem(*SPRING, kept_code, revenue="10")
    session = talon_management.redeem(*SPRING, undone_code, revenue="99", created=ago(minutes=5))
    talon_management.roll_back(*SPRING, undone_code, session, created=ago(minutes=1))

    fast_sync(redemption_app, talon_management, Waits()).run()

    assert live_codes(redemption_app) == {kept_code}
    assert len(redemptions(redemption_app)) == 2  # the undone one is kept, as undone


def test_a_rollback_read_before_its_accept_still_undoes_it(redemption_app, talon_management):
    code = issue_code(redemption_app, "cust-1", Touch(TEXT, "SPRING"))
    sync = fast_sync(redemption_app, talon_management, Waits())
    talon_management.roll_back(*SPRING, code, "session-1", created=ago(minutes=1))
    sync.run()
    talon_management.redeem(*SPRING, code, session="session-1", created=ago(minutes=2))

    sync.run()

    assert live_codes(redemption_app) == set()


def test_a_session_accepting_again_after_its_rollback_counts_once(redemption_app, talon_management):
    code = issue_code(redemption_app, "cust-1", Touch(TEXT, "SPRING"))
    talon_management.redeem(*SPRING, code, session="s-1", created=ago(minutes=3))
    talon_management.roll_back(*SPRING, code, "s-1", created=ago(minutes=2))
    talon_management.redeem(*SPRING, code, session="s-1", created=ago(minutes=1), revenue="5")
    sync = fast_sync(redemption_app, talon_management, Waits())

    sync.run()
    sync.run()

    [kept] = redemptions(redemption_app)
    assert kept.rolled_back_at is None
    assert kept.total_revenue == Decimal("5")


def test_codes_we_did_not_issue_are_ignored(redemption_app, talon_management):
    ours = issue_code(redemption_app, "cust-1", Touch(TEXT, "SPRING"))
    talon_management.redeem(*SPRING, "PRINTED-IN-A-NEWSPAPER", revenue="15")
    talon_management.redeem(*SPRING, ours, revenue="20")

    summary = fast_sync(redemption_app, talon_management, Waits()).run()

    assert summary.not_ours == 1
    assert live_codes(redemption_app) == {ours}


def test_a_sync_stopped_halfway_resumes_from_its_cursor(redemption_app, talon_management):
    codes = [issue_code(redemption_app, f"cust-{n}", Touch(TEXT, "SPRING")) for n in range(3)]
    for days_ago, code in zip((20, 12, 2), codes, strict=True):
        talon_management.redeem(*SPRING, code, created=ago(days=days_ago), revenue="1")
    sync = fast_sync(redemption_app, talon_management, Waits(), chunk=timedelta(days=7))
    windows = [window for window in sync.plan(ago(days=25)) if window.application_id == 12]
    assert len(windows) == 4  # 25 days in 7-day windows

    def crash_after_two(step: int) -> None:
        crash_after_two.calls += 1  # type: ignore[attr-defined]
        if crash_after_two.calls == 2:  # type: ignore[attr-defined]
            raise KeyboardInterrupt  # the process is killed mid-sync

    crash_after_two.calls = 0  # type: ignore[attr-defined]
    with pytest.raises(KeyboardInterrupt):
        sync.run(windows=windows, progress=crash_after_two)
    assert live_codes(redemption_app) == set(codes[:2])  # the windows read are kept
    asked_before = len(talon_management.requests)

    sync.run()

    resumed = talon_management.requests[asked_before:]
    spring_asks = [asked for asked in resumed if asked.path == "/v1/applications/12/export_effects"]
    assert spring_asks[0].args["createdAfter"] < windows[2].start.isoformat()[:10] + "T23"
    assert spring_asks[0].args["createdAfter"] >= windows[1].start.isoformat()[:10]
    assert live_codes(redemption_app) == set(codes)
    assert len(redemptions(redemption_app)) == 3


def test_a_campaign_with_thousands_of_redemptions(redemption_app, talon_management):
    services = redemption_app.extensions["selfserve"]
    count = 3000
    with services.writes.begin() as db:
        db.execute(
            insert(IssuedCoupon),
            [
                {
                    "campaign_slug": "spring",
                    "identifier": f"bulk-{n}",
                    "customer_id": f"bulk-{n}",
                    "code": f"BULK-{n:05d}",
                    "issued_at": utcnow(),
                    "channel": LANDING,
                    "source": "station" if n % 2 else "mall",
                }
                for n in range(count)
            ],
        )
    for n in range(count):
        talon_management.redeem(*SPRING, f"BULK-{n:05d}", revenue="2.5", created=ago(hours=1))
    for n in range(0, count, 10):
        talon_management.roll_back(*SPRING, f"BULK-{n:05d}", _session_of(talon_management, n))

    summary = fast_sync(redemption_app, talon_management, Waits()).run()

    assert summary.redeemed == count
    assert summary.rolled_back == count // 10
    assert len(live_codes(redemption_app)) == count - count // 10


def _session_of(stand_in, n: int) -> str:
    return stand_in.effects[n]["sessionintegrationid"]


def test_every_other_request_answered_429_still_completes(redemption_app, talon_management):
    code = issue_code(redemption_app, "cust-1", Touch(TEXT, "SPRING"))
    talon_management.redeem(*SPRING, code, revenue="3")
    talon_management.every_other_429 = True
    waits = Waits()

    summary = fast_sync(redemption_app, talon_management, waits).run(since=ago(days=20))

    assert summary.errors == []
    assert live_codes(redemption_app) == {code}
    statuses = [asked.status for asked in talon_management.requests]
    assert statuses.count(429) >= 3
    assert all(wait > 0 for wait in waits.seconds)  # backed off before each retry


def test_a_wrong_key_fails_the_command_loudly(redemption_app, talon_management, monkeypatch):
    import tests.stand_ins.talon_management as contract

    monkeypatch.setattr(contract, "MANAGEMENT_KEY", "another-key")

    result = redemption_app.test_cli_runner().invoke(args=["redemptions", "sync"])

    assert result.exit_code == 1
    assert "Missing Session Token" in result.output


def test_the_cursor_records_what_the_console_shows(redemption_app, talon_management):
    fast_sync(redemption_app, talon_management, Waits()).run()

    with redemption_app.extensions["selfserve"].sessions() as db:
        cursors = db.query(RedemptionCursor).all()
    assert {(c.application_id, c.talon_campaign_id) for c in cursors} == {(12, 34), (404, 404)}
    assert all(c.first_read_from < ago(days=29) for c in cursors)


def test_the_workers_job_syncs_when_due_and_not_before(redemption_app, talon_management):
    code = issue_code(redemption_app, "cust-1", Touch(TEXT, "SPRING"))
    talon_management.redeem(*SPRING, code, revenue="7")
    jobs = redemption_app.extensions["selfserve"].jobs

    jobs.sync_redemptions()  # a tick: no cursor yet, so due
    asked = len(talon_management.requests)
    jobs.sync_redemptions()  # a minute later: not due for REDEMPTIONS_SYNC_MINUTES

    assert live_codes(redemption_app) == {code}
    assert asked > 0
    assert len(talon_management.requests) == asked
    due = jobs.huey.read_periodic(datetime.now())  # what the scheduler runs this minute
    assert "redemptions_tick" in {task.name for task in due}


def test_without_a_key_the_workers_job_does_nothing(app):
    services = app.extensions["selfserve"]

    services.jobs.sync_redemptions()

    assert services.redemptions is None


def test_a_rollback_without_its_session_undoes_the_codes_latest_redemption(
    redemption_app, talon_management
):
    code = issue_code(redemption_app, "cust-1", Touch(TEXT, "SPRING"))
    talon_management.redeem(*SPRING, code, session="till-9", created=ago(minutes=3))
    talon_management.roll_back(*SPRING, code, "", created=ago(minutes=1))
    sync = fast_sync(redemption_app, talon_management, Waits())

    first = sync.run()
    second = sync.run()

    assert live_codes(redemption_app) == set()
    assert (first.rolled_back, second.rolled_back, second.unchanged) == (1, 0, 2)
    assert len(redemptions(redemption_app)) == 1
