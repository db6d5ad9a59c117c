"""`flask --app app texts reconcile`: texts only Twilio knows about, answered once.

The Twilio stand-in lists messages as Twilio does (paged, newest first, `DateSent>` by day);
three reached Twilio and never our webhook, one of them hours ago.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app import create_app
from selfserve.models import InboundMessage
from selfserve.sms import TwilioInbox
from tests.conftest import (
    OUR_NUMBER,
    SPRING_CAMPAIGNS,
    import_campaigns_text,
    new_message_sid,
    send_text,
)
from tests.console_support import create_console_user, log_in


def codes_in(text: str) -> list[str]:
    return [word.strip("().,<>/") for word in text.split() if word.startswith("T1-")]


def test_reconcile_answers_texts_only_twilio_saw_once_and_records_old_ones_missed(
    app, runner, twilio_stand_in, talon_stand_in
):
    import_campaigns_text(app, SPRING_CAMPAIGNS)
    now = datetime.now(UTC)
    sid = new_message_sid()
    seen = send_text(app.test_client(), "SPRING", sender="+61491570100", message_sid=sid)
    assert codes_in(seen.get_data(as_text=True))
    twilio_stand_in.received("+61491570100", "SPRING", now - timedelta(minutes=1), sid=sid)
    received = twilio_stand_in.received
    unseen = {
        "+61491570101": received("+61491570101", "SPRING", now - timedelta(minutes=3)),
        "+61491570102": received("+61491570102", "bloom", now - timedelta(minutes=50)),
        "+61491570103": received("+61491570103", "STOP", now - timedelta(minutes=5)),
    }
    old = twilio_stand_in.received("+61491570104", "SPRING", now - timedelta(hours=3))

    first = runner.invoke(args=["texts", "reconcile", "--since", "4h"])
    assert first.exit_code == 0, first.output
    assert "answered 3, recorded as missed 1" in first.output
    for number in ("+61491570101", "+61491570102"):
        [texted] = twilio_stand_in.messages_to(number)
        assert len(codes_in(texted.body)) == 1
    assert twilio_stand_in.messages_to("+61491570104") == []
    assert twilio_stand_in.messages_to("+61491570100") == []  # the webhook answered it
    sent = len(twilio_stand_in.messages)

    second = runner.invoke(args=["texts", "reconcile", "--since", "4h"])
    assert second.exit_code == 0, second.output
    assert "answered 0, recorded as missed 0, already known 5" in second.output
    assert len(twilio_stand_in.messages) == sent  # nothing texted twice
    assert len(talon_stand_in.coupons) == 3  # the seen one and two reconciled: no code twice
    with app.extensions["selfserve"].sessions() as db:
        rows = dict(db.execute(select(InboundMessage.message_sid, InboundMessage.state)).all())
    assert rows[old] == "missed"
    assert all(rows[sid] == "done" for sid in unseen.values())
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert "selfserve_texts_missed 1.0" in metrics
    create_console_user(app)
    console = app.test_client()
    log_in(console)
    board = console.get("/admin/").get_data(as_text=True)
    assert "Texts missed: 1" in board
    assert "+61 4•• ••• •04" in board  # masked, never the whole number


def test_the_default_window_leaves_a_text_of_three_hours_ago_alone(app, runner, twilio_stand_in):
    import_campaigns_text(app, SPRING_CAMPAIGNS)
    twilio_stand_in.received("+61491570105", "SPRING", datetime.now(UTC) - timedelta(hours=3))
    result = runner.invoke(args=["texts", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "answered 0, recorded as missed 0" in result.output
    assert twilio_stand_in.messages_to("+61491570105") == []


@pytest.mark.parametrize("since", ["", "2x", "0h", "h"])
def test_a_bad_since_is_a_usage_error(runner, since):
    result = runner.invoke(args=["texts", "reconcile", "--since", since])
    assert result.exit_code == 2
    assert "duration" in result.output


def test_the_inbox_follows_every_page_and_keeps_only_inbound_texts(twilio_stand_in, settings):
    now = datetime.now(UTC)
    sids = {twilio_stand_in.received(f"+614915702{n:02d}", "HI", now) for n in range(7)}
    twilio_stand_in.received("+61491570299", "HI", now, to="+61400000000")  # another number
    inbox = TwilioInbox(
        settings.twilio_account_sid, settings.twilio_auth_token, twilio_stand_in.url, page_size=3
    )
    try:
        found = list(inbox.inbound_since(OUR_NUMBER, now - timedelta(minutes=1)))
    finally:
        inbox.close()
    assert {record.message_sid for record in found} == sids
    assert len(twilio_stand_in.list_requests) == 3  # 3 + 3 + 1, following next_page_uri
    assert twilio_stand_in.list_requests[0]["DateSent>"] == now.strftime("%Y-%m-%d")


def test_the_worker_reconciles_every_few_minutes_with_twilio_credentials_only(
    app, twilio_stand_in, sandbox_settings
):
    import_campaigns_text(app, SPRING_CAMPAIGNS)
    jobs = app.extensions["selfserve"].jobs
    assert jobs.reconcile_texts.task_class().validate_datetime(datetime(2026, 12, 8, 3, 10))
    assert not jobs.reconcile_texts.task_class().validate_datetime(datetime(2026, 12, 8, 3, 11))
    twilio_stand_in.received("+61491570106", "SPRING", datetime.now(UTC) - timedelta(minutes=2))
    jobs.reconcile_texts.call_local()  # what the worker's scheduler runs
    [texted] = twilio_stand_in.messages_to("+61491570106")
    assert len(codes_in(texted.body)) == 1
    sandbox = create_app(sandbox_settings)
    try:
        assert not hasattr(sandbox.extensions["selfserve"].jobs, "reconcile_texts")
    finally:
        sandbox.extensions["selfserve"].close()
