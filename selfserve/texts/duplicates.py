"""A duplicate delivery of a text (Twilio retry, fallback URL, replay): it waits, briefly,
for the first delivery's reply and answers the same, never calling Talon.One again."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from selfserve.models import InboundMessage
from selfserve.texts.outcomes import Reply

log = logging.getLogger(__name__)


def wait_for_first_delivery(
    sessions: sessionmaker[Session], message_sid: str, deadline_seconds: float
) -> Reply:
    """Poll the message log until the first delivery is done or the deadline passes."""
    deadline = time.monotonic() + deadline_seconds
    delay = 0.02
    while True:
        with sessions() as db:
            row = db.execute(
                select(InboundMessage.state, InboundMessage.reply, InboundMessage.outcome).where(
                    InboundMessage.message_sid == message_sid
                )
            ).first()
        if row is not None and row.state == "done":
            return Reply(row.reply, row.outcome or "duplicate", duplicate=True)
        if time.monotonic() >= deadline:
            log.warning("duplicate_still_processing", extra={"message_sid": message_sid})
            return Reply(None, "duplicate_pending", duplicate=True)
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
