"""Twilio delivers a text twice at once (a retry, a replay): the fast path must answer both the
same, log one row, and ask Talon.One at most once. Real HTTP against the app on a port."""

from __future__ import annotations

import threading

import httpx
from sqlalchemy import func, select

from selfserve.models import InboundMessage
from tests.conftest import inbound_form, reply_text, send_text, signature_for

WEBHOOK = "/webhooks/twilio/sms"


def message_log_rows(app, message_sid: str) -> int:
    """Rows for `message_sid`, once the batched message-log writer has written what it holds."""
    services = app.extensions["selfserve"]
    services.returning.flush()
    with services.sessions() as db:
        return db.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.message_sid == message_sid)
        )


def deliver_together(url: str, form: dict[str, str], copies: int = 2) -> list[httpx.Response]:
    """POST the same signed form `copies` times at the same moment."""
    headers = {"X-Twilio-Signature": signature_for(WEBHOOK, form)}
    start = threading.Barrier(copies, timeout=10)
    answers: list[httpx.Response] = []

    def deliver() -> None:
        start.wait()
        answers.append(httpx.post(url + WEBHOOK, data=form, headers=headers, timeout=20))

    threads = [threading.Thread(target=deliver) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_a_returning_customers_text_delivered_twice_at_once_is_logged_once(
    app, client, live_app, talon_stand_in
):
    sender = "+61491570188"
    code_reply = reply_text(send_text(client, "SPRING", sender=sender))
    assert "Your Spring code: T1-" in (code_reply or "")
    form = inbound_form("SPRING", sender=sender)
    answers = deliver_together(live_app.url, form, copies=3)
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert len({answer.text for answer in answers}) == 1
    assert code_reply in answers[0].text  # the same code, from our own records
    assert len(talon_stand_in.coupon_requests()) == 1  # only the first text asked
    assert message_log_rows(app, form["MessageSid"]) == 1


def test_a_new_customers_text_delivered_twice_is_claimed_once(
    app, live_app, talon_stand_in, monkeypatch
):
    """Both deliveries read "not seen yet" before either claims the MessageSid (a barrier in
    front of the claim makes that interleaving certain); the claim's UNIQUE insert must let
    exactly one of them ask Talon.One, and the other answer with its reply."""
    returning = app.extensions["selfserve"].returning
    claim = returning.claim
    both_read = threading.Barrier(2, timeout=10)

    def claim_after_both_read(row):
        both_read.wait()
        return claim(row)

    monkeypatch.setattr(returning, "claim", claim_after_both_read)
    talon_stand_in.delay_seconds = 0.2  # the loser finds the winner still asking
    form = inbound_form("SPRING", sender="+61491570189")
    answers = deliver_together(live_app.url, form)
    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].text == answers[1].text
    assert "Your Spring code: T1-" in answers[0].text
    assert len(talon_stand_in.coupon_requests()) == 1
    assert message_log_rows(app, form["MessageSid"]) == 1
