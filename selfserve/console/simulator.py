"""The phone simulator's conversation: what a customer's phone would show for one number.

The simulator texts through the real webhook; this reads back what happened: each text the
simulated phone sent, the reply our webhook gave it (the answer it was given, until the
message log, written in batches, has the row; then the log, by MessageSid), and every later
text the outbox holds for that number (deferred codes, one-time codes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from selfserve.models import InboundMessage, OutboundMessage


@dataclass(frozen=True)
class SentText:
    """A text the simulated phone sent: its MessageSid, body and time."""

    message_sid: str
    body: str
    sent_at: datetime
    channel: str = "sms"  # sms | whatsapp: the simulator's switch when it was sent


@dataclass(frozen=True)
class Bubble:
    """One speech bubble: `from_customer` on the right, ours on the left."""

    from_customer: bool
    text: str
    at: datetime
    note: str = ""  # what came of it (outcome) or how it was sent (purpose)
    channel: str = "sms"  # sms | whatsapp


def conversation(
    db: Session,
    phone_e164: str,
    sent: Sequence[SentText],
    outbox_since: datetime | None = None,
    answered: Mapping[str, str] | None = None,
) -> list[Bubble]:
    """The thread for `phone_e164`, oldest first.

    `answered`: the replies the webhook gave (by MessageSid), shown while the message log
    has no row for them yet (a returning customer's row is written moments later).

    Outbox texts are shown from `outbox_since` on (None: all of them); the console passes the
    time this browser first used the number when real customers could own it.
    """
    replies = {}
    sids = [text.message_sid for text in sent]
    if sids:
        replies = {
            row.message_sid: row
            for row in db.execute(
                select(
                    InboundMessage.message_sid,
                    InboundMessage.reply,
                    InboundMessage.outcome,
                    InboundMessage.received_at,
                ).where(InboundMessage.message_sid.in_(sids))
            )
        }
    bubbles: list[Bubble] = []
    for text in sent:
        bubbles.append(Bubble(True, text.body, text.sent_at, channel=text.channel))
        answer = _answer_to(text, replies.get(text.message_sid), answered or {})
        if answer is not None:
            bubbles.append(answer)
    query = select(OutboundMessage).where(OutboundMessage.to_e164 == phone_e164)
    if outbox_since is not None:
        query = query.where(OutboundMessage.created_at >= outbox_since)
    for message in db.scalars(query.order_by(OutboundMessage.created_at).limit(200)):
        bubbles.append(
            Bubble(False, message.body, message.created_at, message.purpose, message.channel)
        )
    bubbles.sort(key=lambda bubble: bubble.at)
    return bubbles


def _answer_to(text: SentText, row: Any, answered: Mapping[str, str]) -> Bubble | None:
    """Our answer to one text: the message log's reply (or outcome), else the webhook's."""
    if row is not None and (row.reply or row.outcome):
        at = max(row.received_at, text.sent_at)
        return Bubble(False, row.reply or "", at, row.outcome or "", text.channel)
    if row is None and answered.get(text.message_sid):
        return Bubble(False, answered[text.message_sid], text.sent_at, channel=text.channel)
    return None
