"""Answering a text after the fact, by outbound text: the spool's drainer and reconciliation.

A text the webhook could not answer at once (the database was away: texts/spooled.py) or
never received (texts/reconcile.py) goes through the very same `TextAnswerer.answer` as a
live one, so keywords, STOP/START/HELP, MYCODES and FORGET all take effect; what would have
been the TwiML reply is then sent through the outbox under the dedupe key
`late-reply:<MessageSid>`. Exactly once, across processes and hosts:

- the MessageSid's claim in the message log (UNIQUE) decides the answer once; a second
  feeding of the same text gets the first answer back (a duplicate), never a second code;
- the outbox's dedupe key sends that answer at most once, however often it is fed.

A claim left `processing` by a process that died (or a database that vanished) mid-answer
would otherwise hold the text forever: once older than `stale_claim_seconds` (longer than
any live answer may take) it is released and the text answered afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from selfserve.models import InboundMessage, utcnow
from selfserve.sms import Outbox
from selfserve.texts.answerer import TextAnswerer
from selfserve.texts.fast_path import read_sender
from selfserve.texts.outcomes import InboundText, Reply

log = logging.getLogger(__name__)

DEDUPE_PREFIX = "late-reply:"
STILL_PENDING = "duplicate_pending"  # the answerer's outcome for a claim still being answered


class LateAnswers:
    """Answers a text as if it had just arrived and sends the reply as an outbound text."""

    def __init__(
        self,
        answerer: TextAnswerer,
        outbox: Outbox,
        sessions: sessionmaker[Session],
        *,
        default_region: str,
        stale_claim_seconds: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._answerer = answerer
        self._outbox = outbox
        self._sessions = sessions
        self._region = default_region
        self._stale = timedelta(seconds=stale_claim_seconds)
        self._clock = clock

    def answer(self, text: InboundText) -> Reply | None:
        """Answer `text` and send its reply; None when another delivery of the same
        MessageSid is still being answered (try again later). Raises what the database
        raises when it is away (the caller keeps the text)."""
        self._release_stale_claim(text.message_sid)
        reply = self._answerer.answer(text)
        if reply.outcome == STILL_PENDING:
            return None
        phone = read_sender(text.sender, self._region).phone
        if reply.text and phone:
            recorded = self._outbox.send(
                dedupe_key=DEDUPE_PREFIX + text.message_sid,
                to_e164=phone,
                body=reply.text,
                purpose="late_reply",
                media_url=reply.media_url or None,
                now=True,  # the first attempt from here: no worker needed to be back yet
            )
            log.info(
                "late_reply_sent" if recorded.fresh else "late_reply_sent_before",
                extra={"message_sid": text.message_sid, "outcome": reply.outcome},
            )
        return reply

    def _release_stale_claim(self, message_sid: str) -> None:
        """Drop a claim whose answer died half-way, so this delivery can answer it."""
        cutoff = self._clock() - self._stale
        with self._sessions.begin() as db:
            released = db.execute(
                delete(InboundMessage).where(
                    InboundMessage.message_sid == message_sid,
                    InboundMessage.state == "processing",
                    InboundMessage.received_at < cutoff,
                )
            ).rowcount
        if released:
            log.warning("stale_claim_released", extra={"message_sid": message_sid})
