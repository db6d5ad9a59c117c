"""Deferred codes: a customer Talon.One could not serve in time gets the code later, by SMS.

The webhook answers "You're in! We'll text your code in a few minutes" and writes a
`deferred_codes` row in the same transaction as the message's outcome (so an answered customer
is never forgotten), then enqueues a job with the row's id. The worker (`DeferredCodes.deliver`)
retries Talon.One with backoff until it answers, then hands exactly one text to the outbox:

- Talon.One's `identifier` makes the retries safe: asking again for the same identifier
  returns the same coupon and creates nothing.
- One row per campaign and identifier: texting again during the outage owes one code.
- A customer who texts again once Talon.One is back gets the code inline; that marks the row
  `answered_inline` and the worker sends nothing.
- Rows are claimed by their `attempts` counter and a lease: a duplicate or stale job finds the
  counter moved on and stops; a job whose worker died is found by the sweeper once the lease
  has run out. The SMS itself is deduplicated by the outbox key `deferred-code:<row id>`.
- Talon.One 400/401/404 stop the retries: logged loudly with the RequestUUID, the row and the
  inbound message both say `failed`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns.book import CampaignBook
from selfserve.customers.phones import mask_phone
from selfserve.errors import TalonRateLimited, TalonRejected, TalonUnavailable
from selfserve.journeys.loyalty import TakingPart, award_for_taking_part
from selfserve.models import DeferredCode, InboundMessage, utcnow
from selfserve.ops.database import insert_ignoring_duplicates
from selfserve.sms.outbox import DEFAULT_RETRIES, Outbox, Retry, RetryPolicy
from selfserve.sms.senders import is_opted_out
from selfserve.talon.client import TalonClient

if TYPE_CHECKING:
    from selfserve.texts.answerer import TextAnswerer

log = logging.getLogger(__name__)

PENDING = "pending"
SMS_QUEUED = "sms_queued"
ANSWERED_INLINE = "answered_inline"
OPTED_OUT = "opted_out"
FAILED = "failed"

DEFERRED_OUTCOME = "deferred"  # the outcome of the inbound message while the code is owed


@dataclass(frozen=True)
class Deferral:
    """What the webhook knows about a code it could not get in time."""

    message_sid: str
    campaign_slug: str
    identifier: str
    customer_id: str
    phone_e164: str
    keyword: str
    first_name: str = ""
    reason: str = ""


def record_deferral(db: Session, deferral: Deferral, now: datetime) -> tuple[int, int] | None:
    """Owe the customer this code, inside the webhook's transaction.

    Returns (row id, attempt) to enqueue after the commit, or None when a pending row for the
    same campaign and identifier already has a job on its way. A row that had ended (failed,
    opted out) is owed again: the customer asked again.
    """
    inserted = insert_ignoring_duplicates(
        db,
        DeferredCode.__table__,
        {
            "created_at": now,
            "message_sid": deferral.message_sid,
            "campaign_slug": deferral.campaign_slug,
            "identifier": deferral.identifier,
            "customer_id": deferral.customer_id,
            "phone_e164": deferral.phone_e164,
            "keyword": deferral.keyword[:64],
            "first_name": deferral.first_name or None,
            "state": PENDING,
            "attempts": 0,
            "failures": 0,
            "next_attempt_at": now,
            "detail": deferral.reason[:500],
        },
    )
    row = db.execute(
        select(DeferredCode.id, DeferredCode.state, DeferredCode.attempts).where(
            DeferredCode.campaign_slug == deferral.campaign_slug,
            DeferredCode.identifier == deferral.identifier,
        )
    ).one()
    if inserted:
        return row.id, row.attempts
    if row.state == PENDING:
        return None
    db.execute(
        update(DeferredCode)
        .where(DeferredCode.id == row.id)
        .values(
            state=PENDING,
            message_sid=deferral.message_sid,
            phone_e164=deferral.phone_e164,
            failures=0,
            next_attempt_at=now,
            lease_until=None,
            finished_at=None,
            outbound_id=None,
            detail=deferral.reason[:500],
        )
    )
    return row.id, row.attempts


def settle_answered_inline(db: Session, campaign_slug: str, identifier: str, now: datetime) -> int:
    """The customer just got this code in a reply: the worker must not text it again.

    Returns how many owed codes this settled (0 or 1). Runs for every code answered inline,
    so its statements are built once (an ORM bulk UPDATE built and evaluated per call cost
    more than the rest of the transaction).
    """
    settled = db.execute(
        _SETTLE, {"b_slug": campaign_slug, "b_identifier": identifier, "b_now": now}
    ).all()
    for row in settled:
        _set_inbound_outcome(db, campaign_slug, row.customer_id, "answered_inline", None)
    return len(settled)


_owed = DeferredCode.__table__
_messages = InboundMessage.__table__
_SETTLE = (
    update(_owed)
    .where(
        _owed.c.campaign_slug == bindparam("b_slug"),
        _owed.c.identifier == bindparam("b_identifier"),
        _owed.c.state == PENDING,
    )
    .values(state=ANSWERED_INLINE, finished_at=bindparam("b_now"), lease_until=None)
    .returning(_owed.c.customer_id)
)
_SET_INBOUND_OUTCOME = (
    update(_messages)
    .where(
        _messages.c.campaign_slug == bindparam("b_slug"),
        _messages.c.customer_id == bindparam("b_customer_id"),
        _messages.c.outcome == DEFERRED_OUTCOME,
    )
    .values(outcome=bindparam("b_outcome"), detail=bindparam("b_detail"))
)


def _set_inbound_outcome(
    db: Session, campaign_slug: str, customer_id: str, outcome: str, detail: str | None
) -> None:
    # Marketers read the message log: every message that was told "we'll text your code"
    # shows what finally happened.
    db.execute(
        _SET_INBOUND_OUTCOME,
        {
            "b_slug": campaign_slug,
            "b_customer_id": customer_id,
            "b_outcome": outcome,
            "b_detail": detail,
        },
    )


@dataclass(frozen=True)
class _Claimed:
    id: int
    campaign_slug: str
    identifier: str
    customer_id: str
    phone_e164: str
    keyword: str
    first_name: str


class DeferredCodes:
    """The worker's side: get each owed code from Talon.One, then text it exactly once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        campaigns: CampaignBook,
        texts: TextAnswerer,
        talon: TalonClient,
        outbox: Outbox,
        *,
        retries: RetryPolicy = DEFAULT_RETRIES,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._campaigns = campaigns
        self._texts = texts
        self._talon = talon
        self._outbox = outbox
        self._retries = retries
        self._clock = clock

    def deliver(self, deferred_id: int, attempt: int) -> Retry | None:
        """One attempt at an owed code; a Retry says when to try again (same job, new attempt).

        Raises nothing for Talon.One trouble: transient errors become a Retry, configuration
        errors end the row as failed.
        """
        claimed = self._claim(deferred_id, attempt)
        if claimed is None:
            return None
        attempt += 1
        campaign = self._campaigns.by_slug(claimed.campaign_slug)
        if campaign is None or campaign.action not in ("coupon", "competition"):
            self._end(claimed, attempt, FAILED, "failed", "campaign no longer exists")
            log.error("deferred_code_failed", extra={"deferred_id": deferred_id})
            return None
        try:
            issued = self._texts.issue_code(
                campaign, claimed.customer_id, claimed.identifier, talon=self._talon
            )
        except TalonRejected as error:
            detail = f"Talon.One {error.status}: {error.error} (RequestUUID {error.request_uuid})"
            self._end(claimed, attempt, FAILED, "failed", detail)
            log.error(
                "deferred_code_failed",
                extra={
                    "deferred_id": deferred_id,
                    "campaign": claimed.campaign_slug,
                    "customer_id": claimed.customer_id,
                    "status": error.status,
                    "error": error.error,
                    "request_uuid": error.request_uuid,
                },
            )
            return None
        except TalonRateLimited as error:
            if error.own_budget:  # not a failure: wait for the window to have room
                wait = (error.retry_after_seconds or 1.0) + random.uniform(0.05, 0.5)
                return self._release(claimed, attempt, wait, str(error), failed=False)
            return self._release(claimed, attempt, None, str(error), error.retry_after_seconds)
        except TalonUnavailable as error:
            return self._release(claimed, attempt, None, str(error), error.retry_after_seconds)
        if campaign.action == "competition":  # also_coupon: the entry's reply, with the code
            text = self._texts.entry_code_reply(
                campaign, claimed.customer_id, issued, first_name=claimed.first_name
            )
        else:
            text = self._texts.code_reply(
                campaign,
                issued.code,
                issued.expires_at,
                issued.starts_at,
                first_name=claimed.first_name,
                keyword=claimed.keyword,
            )
        return self._hand_to_outbox(claimed, attempt, text)

    def overdue(self) -> list[tuple[int, int]]:
        """Owed codes whose job was lost or whose worker died: (id, attempt) to enqueue again."""
        now = self._clock()
        with self._sessions.begin() as db:
            rows = db.execute(
                update(DeferredCode)
                .where(
                    DeferredCode.state == PENDING,
                    or_(
                        DeferredCode.lease_until < now,
                        (DeferredCode.lease_until.is_(None))
                        & (DeferredCode.next_attempt_at < now - self._retries.lease),
                    ),
                )
                .values(lease_until=None, next_attempt_at=now)
                .returning(DeferredCode.id, DeferredCode.attempts)
            ).all()
        return [(row.id, row.attempts) for row in rows]

    def _claim(self, deferred_id: int, attempt: int) -> _Claimed | None:
        now = self._clock()
        with self._sessions.begin() as db:
            row = db.execute(
                update(DeferredCode)
                .where(
                    DeferredCode.id == deferred_id,
                    DeferredCode.state == PENDING,
                    DeferredCode.attempts == attempt,
                    or_(DeferredCode.lease_until.is_(None), DeferredCode.lease_until < now),
                )
                .values(attempts=attempt + 1, lease_until=now + self._retries.lease)
                .returning(
                    DeferredCode.id,
                    DeferredCode.campaign_slug,
                    DeferredCode.identifier,
                    DeferredCode.customer_id,
                    DeferredCode.phone_e164,
                    DeferredCode.keyword,
                    DeferredCode.first_name,
                )
            ).first()
            if row is None:
                return None
            claimed = _Claimed(
                row.id,
                row.campaign_slug,
                row.identifier,
                row.customer_id,
                row.phone_e164,
                row.keyword,
                row.first_name or "",
            )
            if is_opted_out(db, claimed.phone_e164):
                self._end_in(db, claimed, attempt + 1, OPTED_OUT, "opted_out", None)
                log.info(
                    "deferred_code_opted_out",
                    extra={"deferred_id": deferred_id, "to": mask_phone(claimed.phone_e164)},
                )
                return None
        return claimed

    def _release(
        self,
        claimed: _Claimed,
        attempt: int,
        wait_seconds: float | None,
        reason: str,
        retry_after_seconds: float | None = None,
        *,
        failed: bool = True,
    ) -> Retry | None:
        with self._sessions.begin() as db:
            failures = db.scalar(
                update(DeferredCode)
                .where(
                    DeferredCode.id == claimed.id,
                    DeferredCode.state == PENDING,
                    DeferredCode.attempts == attempt,
                )
                .values(failures=DeferredCode.failures + (1 if failed else 0), detail=reason)
                .returning(DeferredCode.failures)
            )
            if failures is None:  # settled inline meanwhile, or reclaimed after our lease
                return None
            if wait_seconds is None:
                wait_seconds = self._retries.backoff(failures)
                if retry_after_seconds is not None:  # Talon.One said when: honour it
                    wait_seconds = max(retry_after_seconds, 0.1)
            db.execute(
                update(DeferredCode)
                .where(DeferredCode.id == claimed.id, DeferredCode.attempts == attempt)
                .values(
                    lease_until=None,
                    next_attempt_at=self._clock() + timedelta(seconds=wait_seconds),
                )
            )
        if failed:
            log.warning(
                "deferred_code_retrying",
                extra={
                    "deferred_id": claimed.id,
                    "reason": reason,
                    "failures": failures,
                    "in_seconds": round(wait_seconds, 1),
                },
            )
        return Retry(attempt, wait_seconds)

    def _hand_to_outbox(self, claimed: _Claimed, attempt: int, text: str) -> None:
        now = self._clock()
        with self._sessions.begin() as db:
            if is_opted_out(db, claimed.phone_e164):  # STOP while we were asking Talon.One
                self._end_in(db, claimed, attempt, OPTED_OUT, "opted_out", None)
                return None
            still_ours = db.execute(
                update(DeferredCode)
                .where(
                    DeferredCode.id == claimed.id,
                    DeferredCode.state == PENDING,
                    DeferredCode.attempts == attempt,
                )
                .values(state=SMS_QUEUED, finished_at=now, lease_until=None, detail=None)
                .returning(DeferredCode.id)
            ).first()
            if still_ours is None:  # answered inline while we were asking Talon.One
                return None
            recorded = self._outbox.record(
                db,
                dedupe_key=f"deferred-code:{claimed.id}",
                to_e164=claimed.phone_e164,
                body=text,
                purpose="deferred_code",
                campaign_slug=claimed.campaign_slug,
            )
            db.execute(
                update(DeferredCode)
                .where(DeferredCode.id == claimed.id)
                .values(outbound_id=recorded.outbound_id)
            )
            _set_inbound_outcome(
                db, claimed.campaign_slug, claimed.customer_id, "code_sent_by_sms", None
            )
        log.info(
            "deferred_code_issued",
            extra={"deferred_id": claimed.id, "campaign": claimed.campaign_slug},
        )
        if recorded.fresh:  # sent from this job straight away; retries go to the queue
            self._outbox.deliver_and_schedule(recorded.outbound_id, 0)
        # The customer took part when they texted; the points come with the code, once.
        award_for_taking_part(
            self._sessions,
            self._talon,
            self._campaigns,
            TakingPart("code_sent_by_sms", claimed.campaign_slug, claimed.customer_id),
        )
        return None

    def _end(
        self, claimed: _Claimed, attempt: int, state: str, outcome: str, detail: str | None
    ) -> None:
        with self._sessions.begin() as db:
            self._end_in(db, claimed, attempt, state, outcome, detail)

    def _end_in(
        self,
        db: Session,
        claimed: _Claimed,
        attempt: int,
        state: str,
        outcome: str,
        detail: str | None,
    ) -> None:
        ended = db.execute(
            update(DeferredCode)
            .where(DeferredCode.id == claimed.id, DeferredCode.attempts == attempt)
            .values(state=state, finished_at=self._clock(), lease_until=None, detail=detail)
            .returning(DeferredCode.id)
        ).first()
        if ended is not None:
            _set_inbound_outcome(db, claimed.campaign_slug, claimed.customer_id, outcome, detail)
