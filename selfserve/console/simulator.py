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
        channel = text.channel
        bubbles.append(Bubble(True, text.body, text.sent_at, channel=channel))
        row = replies.get(text.message_sid)
        if row is not None and row.reply:
            at = max(row.received_at, text.sent_at)
            bubbles.append(Bubble(False, row.reply, at, row.outcome or "", channel))
        elif row is not None and row.outcome:
            at = max(row.received_at, text.sent_at)
            bubbles.append(Bubble(False, "", at, row.outcome, channel))
        elif row is None and (answered or {}).get(text.message_sid):
            reply = (answered or {})[text.message_sid]
            bubbles.append(Bubble(False, reply, text.sent_at, channel=channel))
    query = select(OutboundMessage).where(OutboundMessage.to_e164 == phone_e164)
    if outbox_since is not None:
        query = query.where(OutboundMessage.created_at >= outbox_since)
    for message in db.scalars(query.order_by(OutboundMessage.created_at).limit(200)):
        bubbles.append(
            Bubble(False, message.body, message.created_at, message.purpose, message.channel)
        )
    bubbles.sort(key=lambda bubble: bubble.at)
    return bubbles
