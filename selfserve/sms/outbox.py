"""The outbox: send a text to a number reliably, at most once per dedupe key.

Every text we send ourselves goes through here. `Outbox.send()` (or `Outbox.record()` inside a
caller's transaction, then `Outbox.dispatch()` after its commit) writes an `outbound_messages`
row under a UNIQUE dedupe key *before* anything is sent; the worker then claims the row, checks
the opt-out list, calls the provider with no transaction open, and records the answer.

What survives what:
- A second `send()` with the same key sends nothing (the key is taken).
- A worker killed before claiming: the row is still `waiting`; the sweeper hands it to another
  worker once it is overdue.
- Twilio unreachable, 5xx or 429 (the request was not processed): retried with backoff.
- 21610 (the customer replied STOP): the opt-out is recorded, never retried. Other permanent
  Twilio errors: recorded as failed and logged loudly.
- The residual window, stated honestly: a worker killed after Twilio accepted a text but before
  the answer was written (a few milliseconds), or a read timeout after the request was sent,
  leaves the row `claimed`/`uncertain`. Twilio has no idempotency key for creating messages,
  so we cannot ask whether it went out; we never send it again (at most once) and log it as
  `sms_delivery_uncertain` for a person to look at.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.customers import is_opted_out, is_whatsapp_opted_out, mask_phone, set_opt_out
from selfserve.errors import RecipientOptedOut, SmsError
from selfserve.models import OutboundMessage, utcnow
from selfserve.ops import insert_ignoring_duplicates
from selfserve.sms.retries import DEFAULT_RETRIES, Retry, RetryPolicy, backoff_seconds
from selfserve.sms.senders import SmsSender, Template
from selfserve.sms.whatsapp import WhatsAppDelivery, refused_later

__all__ = ["DEFAULT_RETRIES", "Outbox", "Recorded", "Retry", "RetryPolicy", "backoff_seconds"]

log = logging.getLogger(__name__)

WAITING = "waiting"  # recorded, not yet handed to the provider
CLAIMED = "claimed"  # a worker is calling the provider right now
UNCERTAIN = "uncertain"  # the provider may or may not have it; never sent again
SKIPPED = "skipped"  # the number opted out before we sent
FAILED = "failed"


@dataclass(frozen=True)
class Recorded:
    """A text written to the outbox: its row id, and whether this call created it."""

    outbound_id: int
    fresh: bool


class Outbox:
    """Records texts under a dedupe key and delivers them through the SMS sender."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sender: SmsSender,
        *,
        retries: RetryPolicy = DEFAULT_RETRIES,
        enqueue: Callable[[int, int, float | None], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._sender = sender
        self._retries = retries
        # How a row reaches the worker: enqueue(outbound_id, attempt, delay); without a
        # queue, rows wait for a sweeper (tests that deliver by hand).
        self._enqueue = enqueue
        self._clock = clock
        self._whatsapp = WhatsAppDelivery(sessions, sender, clock)

    def after_status(self, message_sid: str, error_code: int | None) -> None:
        """A status callback refused a WhatsApp message (63016, 63049…): send it again as
        its template, or by SMS, as sms/whatsapp.py says; anything else needs nothing."""
        if error_code is None:
            return
        with self._sessions.begin() as db:
            again = refused_later(db, message_sid, error_code, self._clock())
            if again is None:
                return
            row, changes = again
            db.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == row.id, OutboundMessage.attempts == row.attempts)
                .values(status=WAITING, lease_until=None, next_attempt_at=self._clock(), **changes)
            )
        if self._enqueue is None:
            self.deliver_and_schedule(row.id, row.attempts)
        else:
            self._enqueue(row.id, row.attempts, None)

    def send(
        self,
        *,
        dedupe_key: str,
        to_e164: str,
        body: str,
        purpose: str,
        campaign_slug: str | None = None,
        now: bool = False,
        media_url: str | None = None,
        not_before: datetime | None = None,
        channel: str = "sms",
        template: Template | None = None,
    ) -> Recorded:
        """Send `body` to `to_e164` reliably, at most once per `dedupe_key`.

        Records the text (its own short transaction), then hands it to the worker; with
        `now=True` the first attempt runs in this thread instead (for one-time codes a person
        is waiting for) and only retries go to the worker. A key used before sends nothing and
        returns the first row with `fresh=False`. Opted-out numbers are never texted.
        `not_before` (quiet hours) holds the text back until then: the worker gets it with
        that delay, and the sweeper finds it after then if the queue lost it.
        """
        with self._sessions.begin() as db:
            recorded = self.record(
                db,
                dedupe_key=dedupe_key,
                to_e164=to_e164,
                body=body,
                purpose=purpose,
                campaign_slug=campaign_slug,
                media_url=media_url,
                not_before=not_before,
                channel=channel,
                template=template,
            )
        wait = (not_before - self._clock()).total_seconds() if not_before else 0.0
        if recorded.fresh and wait > 0:
            self._schedule(recorded.outbound_id, wait)
        elif recorded.fresh:
            if now:
                self.deliver_and_schedule(recorded.outbound_id, 0)
            else:
                self.dispatch(recorded.outbound_id)
        return recorded

    def record(
        self,
        db: Session,
        *,
        dedupe_key: str,
        to_e164: str,
        body: str,
        purpose: str,
        campaign_slug: str | None = None,
        media_url: str | None = None,
        not_before: datetime | None = None,
        channel: str = "sms",
        template: Template | None = None,
    ) -> Recorded:
        """Write the text into the outbox inside the caller's transaction (nothing is sent).

        After the commit, call `dispatch(outbound_id)`; if the process dies first, the sweeper
        finds the row and sends it anyway. On `channel="whatsapp"` the `template` is what
        goes once the person's 24-hour window has closed (sms/whatsapp.py).
        """
        now = self._clock()
        inserted = insert_ignoring_duplicates(
            db,
            OutboundMessage.__table__,
            {
                "created_at": now,
                "to_e164": to_e164,
                "body": body,
                "purpose": purpose[:32],
                "provider": self._sender.provider,
                "status": WAITING,
                "campaign_slug": campaign_slug,
                "dedupe_key": dedupe_key,
                "media_url": media_url,
                "channel": channel,
                "content_sid": template.content_sid if template else None,
                "content_variables": template.variables_json() if template else None,
                "attempts": 0,
                "failures": 0,
                "next_attempt_at": max(now, not_before) if not_before else now,
            },
        )
        outbound_id = db.scalar(
            select(OutboundMessage.id).where(OutboundMessage.dedupe_key == dedupe_key)
        )
        assert outbound_id is not None  # noqa: S101 - inserted or already there
        return Recorded(outbound_id, fresh=inserted)

    def dispatch(self, outbound_id: int) -> None:
        """Hand a freshly recorded text to the worker; a failure here is repaired by the sweeper."""
        if self._enqueue is None:
            self.deliver_and_schedule(outbound_id, 0)
            return
        try:
            self._enqueue(outbound_id, 0, None)
        except Exception:  # the row is durable: the sweeper will find it
            log.exception("outbox_enqueue_failed", extra={"outbound_id": outbound_id})

    def _schedule(self, outbound_id: int, delay_seconds: float) -> None:
        """Hand a held-back text to the worker with its delay; without a queue (or if the
        enqueue fails) the sweeper sends it once its time has passed."""
        if self._enqueue is None:
            return
        try:
            self._enqueue(outbound_id, 0, delay_seconds)
        except Exception:
            log.exception("outbox_enqueue_failed", extra={"outbound_id": outbound_id})

    def deliver_and_schedule(self, outbound_id: int, attempt: int) -> None:
        """One delivery attempt here and now; a retry, if any, goes to the worker."""
        retry = self.deliver(outbound_id, attempt)
        if retry is not None and self._enqueue is not None:
            try:
                self._enqueue(outbound_id, retry.attempt, retry.delay_seconds)
            except Exception:
                log.exception("outbox_enqueue_failed", extra={"outbound_id": outbound_id})

    def deliver(self, outbound_id: int, attempt: int) -> Retry | None:
        """The worker's job: claim the row, send it once, record the answer.

        `attempt` is the claim counter the job was given; a stale or duplicate copy of the job
        (the row moved on) does nothing. Returns a Retry for transient failures.
        """
        claimed = self._claim(outbound_id, attempt)
        if claimed is None:
            return None
        masked = mask_phone(claimed.to_e164)
        try:
            if claimed.channel == "whatsapp":
                sent = self._whatsapp.send(outbound_id, claimed)
            else:
                sent = self._sender.send(claimed.to_e164, claimed.body, claimed.media_url)
        except RecipientOptedOut:
            self._record_recipient_opt_out(outbound_id, attempt + 1, claimed.to_e164)
            return None
        except SmsError as error:
            return self._failed(outbound_id, attempt + 1, error, masked)
        with self._sessions.begin() as db:
            self._finish(
                db,
                outbound_id,
                attempt + 1,
                status=sent.status,
                message_sid=sent.sid,
                sent_at=self._clock(),
            )
        log.info(
            "sms_sent",
            extra={"to": masked, "purpose": claimed.purpose, "provider": sent.provider},
        )
        return None

    def _claim(self, outbound_id: int, attempt: int) -> Row[Any] | None:
        """The row's number, body and purpose, now ours to send; None when there is nothing to
        send (a stale job, or a number that opted out, whose row is then marked skipped)."""
        now = self._clock()
        with self._sessions.begin() as db:
            claimed = db.execute(
                update(OutboundMessage)
                .where(
                    OutboundMessage.id == outbound_id,
                    OutboundMessage.status == WAITING,
                    OutboundMessage.attempts == attempt,
                )
                .values(status=CLAIMED, attempts=attempt + 1, lease_until=now + self._retries.lease)
                .returning(
                    OutboundMessage.to_e164,
                    OutboundMessage.body,
                    OutboundMessage.purpose,
                    OutboundMessage.media_url,
                    OutboundMessage.channel,
                    OutboundMessage.content_sid,
                    OutboundMessage.content_variables,
                    OutboundMessage.template_only,
                )
            ).first()
            if claimed is None:
                return None
            stopped = is_whatsapp_opted_out if claimed.channel == "whatsapp" else is_opted_out
            if stopped(db, claimed.to_e164):  # checked before every send, per channel
                self._finish(db, outbound_id, attempt + 1, status=SKIPPED, detail="opted out")
                log.info(
                    "sms_skipped_opted_out",
                    extra={"to": mask_phone(claimed.to_e164), "purpose": claimed.purpose},
                )
                return None
        return claimed

    def _record_recipient_opt_out(self, outbound_id: int, attempts: int, to_e164: str) -> None:
        """Twilio's 21610 (the customer replied STOP): record the opt-out, fail the row for good."""
        with self._sessions.begin() as db:
            set_opt_out(db, to_e164, True, reason="twilio-21610")
            self._finish(db, outbound_id, attempts, status=FAILED, error_code=21610, detail="21610")
        log.warning("sms_recipient_opted_out", extra={"to": mask_phone(to_e164)})

    def overdue(self) -> list[tuple[int, int]]:
        """Rows a worker should have handled by now: (outbound_id, attempt) to enqueue again.

        A `waiting` row a lease-length past its time lost its job (a crash before the enqueue,
        a queue flushed); it is handed out again and its time moved on, so the next sweep leaves
        it alone. A `claimed` row whose lease ran out belonged to a worker that died while
        talking to the provider: it may have gone out, so it becomes `uncertain`, never resent.
        """
        now = self._clock()
        with self._sessions.begin() as db:
            lost = db.execute(
                update(OutboundMessage)
                .where(
                    OutboundMessage.status == WAITING,
                    OutboundMessage.next_attempt_at < now - self._retries.lease,
                )
                .values(next_attempt_at=now)
                .returning(OutboundMessage.id, OutboundMessage.attempts)
            ).all()
            abandoned = db.execute(
                update(OutboundMessage)
                .where(OutboundMessage.status == CLAIMED, OutboundMessage.lease_until < now)
                .values(status=UNCERTAIN, lease_until=None, detail="worker stopped mid-send")
                .returning(OutboundMessage.id, OutboundMessage.to_e164)
            ).all()
        for row in abandoned:
            log.error(
                "sms_delivery_uncertain",
                extra={"outbound_id": row.id, "to": mask_phone(row.to_e164)},
            )
        return [(row.id, row.attempts) for row in lost]

    def _failed(self, outbound_id: int, attempt: int, error: SmsError, masked: str) -> Retry | None:
        if error.maybe_sent:
            with self._sessions.begin() as db:
                self._finish(db, outbound_id, attempt, status=UNCERTAIN, detail=error.reason)
            log.error(
                "sms_delivery_uncertain",
                extra={"outbound_id": outbound_id, "to": masked, "reason": error.reason},
            )
            return None
        if error.permanent:
            with self._sessions.begin() as db:
                self._finish(
                    db,
                    outbound_id,
                    attempt,
                    status=FAILED,
                    error_code=error.code,
                    detail=error.reason,
                )
            log.error(
                "sms_failed",
                extra={"outbound_id": outbound_id, "to": masked, "error_code": error.code},
            )
            return None
        with self._sessions.begin() as db:
            failures = db.scalar(
                update(OutboundMessage)
                .where(OutboundMessage.id == outbound_id, OutboundMessage.attempts == attempt)
                .values(failures=OutboundMessage.failures + 1)
                .returning(OutboundMessage.failures)
            )
            if failures is None:
                return None
            delay = self._retries.backoff(failures)
            db.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == outbound_id, OutboundMessage.attempts == attempt)
                .values(
                    status=WAITING,
                    lease_until=None,
                    error_code=error.code,
                    detail=error.reason,
                    next_attempt_at=self._clock() + timedelta(seconds=delay),
                )
            )
        log.warning(
            "sms_retrying",
            extra={"outbound_id": outbound_id, "to": masked, "in_seconds": round(delay, 1)},
        )
        return Retry(attempt, delay)

    @staticmethod
    def _finish(db: Session, outbound_id: int, attempt: int, **values: object) -> None:
        db.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == outbound_id, OutboundMessage.attempts == attempt)
            .values(lease_until=None, **values)
        )
