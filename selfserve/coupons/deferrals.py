"""Deferred codes: a customer Talon.One could not serve in time gets the code later, by SMS.

The webhook answers "You're in! We'll text your code in a few minutes" and writes a
`deferred_codes` row in the same transaction as the message's outcome (so an answered customer
is never forgotten), then enqueues a job with the row's id. The worker
(`selfserve.queue.deferred_codes.DeferredCodes.deliver`)
retries Talon.One with backoff until it answers, then hands exactly one text to the outbox:

- Talon.One's `identifier` makes the retries safe: asking again for the same identifier
  returns the same coupon and creates nothing.
- One row per campaign and identifier: texting again during the outage owes one code.
- A customer who texts again once Talon.One is back gets the code inline; that marks the row
  `answered_inline` and the worker sends nothing.
- Rows are claimed by their `attempts` counter and a lease: a duplicate or stale job finds the
  counter moved on and stops; a job whose worker died is found by the sweeper once the lease
  has run out. The SMS itself is deduplicated by the outbox key `deferred-code:<row id>`.
- An advocate's referral code (REFER) and a referred friend's coupon are owed the same way
  (the row's `kind`); REFER again while its code is owed is answered without asking
  Talon.One, since its referral endpoint would make a second code. A friend asking for the
  friend campaign's coupon the plain way (its keyword, its /q/ page) while their referral
  coupon is owed is told "we'll text your code" again: the worker's coupon carries the
  referral code and thanks the advocate; a plain claim would do neither.
- Talon.One 400/401/404 stop the retries: logged loudly with the RequestUUID, the row and the
  inbound message both say `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from selfserve.models import DeferredCode, InboundMessage
from selfserve.ops import insert_ignoring_duplicates

PENDING = "pending"
SMS_QUEUED = "sms_queued"
ANSWERED_INLINE = "answered_inline"
OPTED_OUT = "opted_out"
FAILED = "failed"

DEFERRED_OUTCOME = "deferred"  # the outcome of the inbound message while the code is owed

# What is owed (a row's `kind`): the campaign's coupon; an advocate's referral code (the row's
# `identifier` is their customer id); a referred friend's coupon, created with the referral
# code (`referral_code_id`) as its `.referralCode` attribute.
OWED_COUPON = "coupon"
OWED_REFERRAL_CODE = "referral_code"
OWED_REFERRAL_COUPON = "referral_coupon"


Owed = tuple[int, int]  # (deferred_codes row id, attempt): what the worker's job carries


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
    kind: str = OWED_COUPON
    referral_code_id: int | None = None  # OWED_REFERRAL_COUPON: the friend's referral code
    channel: str = "sms"  # asked on sms or whatsapp: the code goes back the same way


def record_deferral(
    db: Session, deferral: Deferral, now: datetime, *, code_token: str | None = None
) -> Owed | None:
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
            "code_token": code_token,
            "kind": deferral.kind,
            "referral_code_id": deferral.referral_code_id,
            "channel": deferral.channel,
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
    _owe_again(db, row.id, deferral, now)
    return row.id, row.attempts


def _owe_again(db: Session, row_id: int, deferral: Deferral, now: datetime) -> None:
    """A row that had ended (failed, opted out) is pending again, for this newer ask."""
    db.execute(
        update(DeferredCode)
        .where(DeferredCode.id == row_id)
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
            kind=deferral.kind,
            referral_code_id=deferral.referral_code_id,
            channel=deferral.channel,
        )
    )


def is_owed(db: Session, campaign_slug: str, identifier: str) -> bool:
    """True while this code is owed and the worker has not sent it yet: asking again must
    not ask Talon.One again (an advocate's referral code has no idempotency key)."""
    state = db.scalar(
        select(DeferredCode.state).where(
            DeferredCode.campaign_slug == campaign_slug, DeferredCode.identifier == identifier
        )
    )
    return state == PENDING


def owed_with_referral(db: Session, campaign_slug: str, identifier: str) -> bool:
    """True while this code is owed as a referred friend's coupon (kind referral_coupon):
    only the worker (or the referral itself, asked again) may create it, with `.referralCode`
    and the advocate's thanks; a plain claim must neither create it nor settle the row."""
    kind = db.scalar(
        select(DeferredCode.kind).where(
            DeferredCode.campaign_slug == campaign_slug,
            DeferredCode.identifier == identifier,
            DeferredCode.state == PENDING,
        )
    )
    return kind == OWED_REFERRAL_COUPON


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
        set_inbound_outcome(db, campaign_slug, row.customer_id, "answered_inline", None)
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


def set_inbound_outcome(
    db: Session, campaign_slug: str, customer_id: str, outcome: str, detail: str | None
) -> None:
    """Every message told "we'll text your code" shows what finally happened."""
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
