"""Reconciliation with Twilio: answer the texts whose webhook never reached us.

Twilio keeps every inbound message; the webhook may still miss some (our host unreachable,
TLS or DNS trouble, a deploy, Twilio giving up after its 15 s). `Reconciler.run(since)` lists
the inbound messages to each of our numbers (sms/inbox.py) and, for every MessageSid the
message log has never seen:

- younger than RECONCILE_MAX_AGE_MINUTES: answered as if it had just arrived, by outbound
  text (texts/later.py: the claim and the outbox's dedupe key make it once, however often
  reconciliation runs, and on however many hosts);
- older: recorded as `missed` in the message log (counted on /metrics and shown in the
  console), never answered: a reply hours later confuses more than it helps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from selfserve.customers import mask_phone
from selfserve.models import MISSED_STATE, InboundMessage, utcnow
from selfserve.ops import insert_ignoring_duplicates
from selfserve.sms import InboundRecord, TwilioInbox
from selfserve.texts.later import LateAnswers
from selfserve.texts.outcomes import InboundText

log = logging.getLogger(__name__)

MISSED = MISSED_STATE  # the message log's state and outcome for a text found too late
SOURCE = "reconcile"
NUMBERS_SEEN_DAYS = 30  # our numbers: the configured one, and those texted lately


@dataclass
class ReconcileReport:
    """What one run found: texts answered now, recorded as missed, already known."""

    answered: int = 0
    missed: int = 0
    known: int = 0
    pending: int = 0  # still being answered elsewhere: the next run looks again


class Reconciler:
    """Finds inbound texts only Twilio knows about and answers (or records) them."""

    def __init__(
        self,
        inbox: TwilioInbox,
        late: LateAnswers,
        sessions: sessionmaker[Session],
        *,
        our_numbers: Iterable[str],
        max_age_minutes: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._inbox = inbox
        self._late = late
        self._sessions = sessions
        self._configured = [number for number in our_numbers if number]
        self._max_age = timedelta(minutes=max_age_minutes)
        self._clock = clock

    def run(self, since: timedelta) -> ReconcileReport:
        """Reconcile the texts of the last `since`; raises SmsError when Twilio cannot be
        read (nothing is lost: the next run lists them again)."""
        now = self._clock()
        report = ReconcileReport()
        for number in self.our_numbers(now):
            records = list(self._inbox.inbound_since(number, _aware(now) - since))
            for record in sorted(records, key=lambda found: found.sent_at):  # oldest first
                self._reconcile(record, now, report)
        log.info(
            "texts_reconciled",
            extra={
                "answered": report.answered,
                "missed": report.missed,
                "known": report.known,
                "pending": report.pending,
            },
        )
        return report

    def run_scheduled(self, every_minutes: int) -> ReconcileReport:
        """The periodic run: far enough back that a text nobody answered is seen once more
        after it passed RECONCILE_MAX_AGE_MINUTES, and so recorded as missed."""
        return self.run(self._max_age + timedelta(minutes=2 * every_minutes))

    def our_numbers(self, now: datetime) -> list[str]:
        """The configured number and every number texted in the last NUMBERS_SEEN_DAYS."""
        recent = now - timedelta(days=NUMBERS_SEEN_DAYS)
        with self._sessions() as db:
            seen = db.scalars(
                select(InboundMessage.to_number)
                .where(InboundMessage.received_at >= recent, InboundMessage.to_number.is_not(None))
                .distinct()
            ).all()
        # None known yet (a Messaging Service, nothing received): every number of the account.
        return list(dict.fromkeys([*self._configured, *(n for n in seen if n)])) or [""]

    def _reconcile(self, record: InboundRecord, now: datetime, report: ReconcileReport) -> None:
        if self._known(record.message_sid):
            report.known += 1
            return
        if _aware(now) - record.sent_at > self._max_age:
            self._record_missed(record)
            report.missed += 1
            return
        text = InboundText(
            message_sid=record.message_sid,
            sender=record.sender,
            body=record.body,
            to=record.to,
            source=SOURCE,
        )
        if self._late.answer(text) is None:
            report.pending += 1
        else:
            report.answered += 1
            log.info("text_reconciled", extra={"message_sid": record.message_sid})

    def _known(self, message_sid: str) -> bool:
        with self._sessions() as db:
            found = db.scalar(
                select(InboundMessage.id).where(InboundMessage.message_sid == message_sid)
            )
        return found is not None

    def _record_missed(self, record: InboundRecord) -> None:
        with self._sessions.begin() as db:
            insert_ignoring_duplicates(
                db,
                InboundMessage.__table__,
                {
                    "message_sid": record.message_sid,
                    "received_at": record.sent_at,
                    "channel": "sms",
                    "phone_masked": mask_phone(record.sender) if record.sender else "unknown",
                    "to_number": record.to[:32],
                    "source": SOURCE,
                    "state": MISSED,
                    "outcome": MISSED,
                },
            )
        log.warning("text_missed", extra={"message_sid": record.message_sid})


def _aware(moment: datetime) -> datetime:
    """Our clock's naive UTC as an aware datetime (Twilio's are aware)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
