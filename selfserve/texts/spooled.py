"""The webhook through a database outage: spool the text, answer at once, answer fully later.

`SpoolingAnswerer.answer` is what the webhook calls. While the database answers, it is the
`TextAnswerer`, bounded by DATABASE_TIMEOUT_SECONDS (plus a margin for Talon.One's inline
call) under gevent. When the database is down, refuses, or is too slow, the text goes to the
durable spool (ops/spool.py) and the customer is told SPOOLED_REPLY; the process then spools
every text without touching the database (`DatabaseGate`) until its drainer has emptied the
host's spool, so a STOP spooled before a SPRING is still answered first.

`SpoolDrainer`, a thread in every web and worker process, waits for the database to answer
again, then feeds the spooled texts oldest first through `LateAnswers` (texts/later.py):
the normal answer, sent as an outbound text, exactly once per MessageSid. Texts of one
number are fed in order; different numbers' texts a few at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from selfserve.campaigns import CampaignBook
from selfserve.ops import Catalogues, Spool, is_database_unavailable, within
from selfserve.sms import Compliance, ComplianceWords, first_word
from selfserve.texts.answerer import TextAnswerer
from selfserve.texts.later import LateAnswers
from selfserve.texts.outcomes import InboundText, Reply

log = logging.getLogger(__name__)

SPOOLED = "spooled"  # the outcome counted for a text answered with SPOOLED_REPLY


class DatabaseGate:
    """This process's view: may the webhook use the database, or must it spool?"""

    def __init__(self) -> None:
        self.spooling = False
        self.wake = threading.Event()

    def trip(self) -> None:
        """The database failed a text: spool until the drainer has caught up."""
        self.spooling = True
        self.wake.set()


class SpooledReply:
    """SPOOLED_REPLY in the language of the keyword's campaign, else the default language;
    nothing for an opt-out (it is recorded when drained, and "we'll text you back" is the
    last thing a STOP should hear)."""

    def __init__(
        self,
        text: str,
        campaigns: CampaignBook,
        catalogues: Catalogues,
        languages: tuple[str, ...],
        compliance: ComplianceWords,
    ) -> None:
        self._text = text
        self._campaigns = campaigns
        self._catalogues = catalogues
        self._default = languages[0] if languages else "en"
        self._compliance = compliance

    def for_text(self, body: str, opt_out_type: str = "") -> str | None:
        """The reply for a text (no database read); None for an opt-out."""
        found = self._compliance.classify(body, opt_out_type)
        if found is not None and found.kind is Compliance.OPT_OUT:
            return None
        campaign = self._campaigns.cached_by_keyword(first_word(body))
        language = (campaign.language if campaign else None) or self._default
        return self._catalogues.gettext(language, self._text)


class SpoolingAnswerer:
    """The webhook's answer: live when the database answers in time, else spooled."""

    def __init__(
        self,
        answerer: TextAnswerer,
        spool: Spool,
        gate: DatabaseGate,
        reply: SpooledReply,
        *,
        deadline_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._answerer = answerer
        self._spool = spool
        self.gate = gate  # shared with the drainer
        self._reply = reply
        self._deadline = deadline_seconds
        self._clock = clock

    def answer(self, text: InboundText) -> Reply:
        """Answer now, or spool the text durably and say we will text back."""
        if self.gate.spooling:
            return self.spool(text)
        try:
            with within(self._deadline):
                return self._answerer.answer(text)
        except Exception as error:
            if not is_database_unavailable(error):
                raise
            log.warning(
                "database_unavailable_spooling",
                extra={"message_sid": text.message_sid, "error": type(error).__name__},
            )
            self.gate.trip()
            return self.spool(text)

    def spool(self, text: InboundText) -> Reply:
        """Write the text to the spool (on disk when this returns); the SPOOLED_REPLY."""
        self._spool.append(
            {
                "sid": text.message_sid,
                "from": text.sender,
                "body": text.body,
                "to": text.to,
                "opt_out": text.opt_out_type,
                "source": text.source,
                "at": self._clock(),
            }
        )
        return Reply(self._reply.for_text(text.body, text.opt_out_type), SPOOLED)


class SpoolDrainer:
    """Feeds spooled texts to LateAnswers once the database answers again."""

    def __init__(
        self,
        spool: Spool,
        gate: DatabaseGate,
        late: LateAnswers,
        database_answers: Callable[[], bool],
        *,
        interval_seconds: float = 1.0,
        lanes: int = 8,
    ) -> None:
        self._spool = spool
        self._gate = gate
        self._late = late
        self._database_answers = database_answers
        self._interval = interval_seconds
        self._lanes = lanes
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        """Run in a daemon thread of this process (a greenlet under gevent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stopped.clear()
            self._thread = threading.Thread(target=self._run, name="spool-drainer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread (it finishes the text in hand) and release the spool file."""
        self._stopped.set()
        self._gate.wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._spool.close()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._gate.wake.wait(self._interval)
            self._gate.wake.clear()
            if self._stopped.is_set():
                return
            try:
                self.drain_once()
            except Exception:
                log.exception("spool_drain_failed")

    def drain_once(self) -> int:
        """One round: when the database answers, feed every spooled text of this host that
        no other process holds; the number answered."""
        if not self._gate.spooling and self._spool.is_empty():
            return 0
        if not self._database_answers():
            return 0
        self._spool.rotate()
        taken = self._spool.take()
        if taken is None:  # another process of this host is draining
            return 0
        now, later = taken.ready()
        try:
            remaining = self._feed(now)
        except BaseException:
            taken.release()
            raise
        remaining = sorted(remaining + later, key=lambda record: float(record.get("at", 0)))
        taken.finish(remaining)
        answered = len(taken.records) - len(remaining)
        if answered:
            log.info("spool_drained", extra={"texts": answered, "left": len(remaining)})
        if not remaining and self._spool.is_empty():
            self._gate.spooling = False
        return answered

    def _feed(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Answer the records, one number's in order; those still to answer."""
        by_number: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            by_number.setdefault(str(record.get("from", "")), []).append(record)
        with ThreadPoolExecutor(self._lanes, thread_name_prefix="spool-lane") as lanes:
            left = list(lanes.map(self._feed_one_number, by_number.values()))
        return [record for kept in left for record in kept]

    def _feed_one_number(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One number's texts in order; from the first that cannot be answered now, all
        of them are kept (a later STOP must not overtake an earlier SPRING)."""
        for index, record in enumerate(records):
            try:
                done = self._late.answer(_text_of(record)) is not None
            except Exception as error:
                if is_database_unavailable(error):
                    return records[index:]
                # Never dropped (a schema not migrated yet looks like this too): kept, with
                # this number's later texts, and tried again each round; the spool's depth
                # and age alert someone.
                tries = int(record.get("tries", 0)) + 1
                log.exception(
                    "spooled_text_failed", extra={"message_sid": record.get("sid"), "tries": tries}
                )
                return [{**record, "tries": tries}, *records[index + 1 :]]
            if not done:
                return records[index:]
        return []


def _text_of(record: dict[str, Any]) -> InboundText:
    return InboundText(
        message_sid=str(record["sid"]),
        sender=str(record.get("from", "")),
        body=str(record.get("body", "")),
        to=str(record.get("to", "")),
        opt_out_type=str(record.get("opt_out", "")),
        source=record.get("source"),
    )
