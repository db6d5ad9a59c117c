"""A person's data rights: everything stored about a number (access), and erasure.

Erasure deletes what only serves the person (directory row, stored codes, codes still owed,
outbox entries not yet sent, referral codes and uses, one-time codes, a pending FORGET ME)
and rewrites what the business must keep counting or proving: message-log rows keep their
counts but lose bodies and numbers; the consent trail, the opt-out register, competition
entries and loyalty awards keep only an erasure key (a keyed hash of the number derived from
IDENTITY_SECRET) in place of the number and customer id, so one person still counts once and
the number stays opted out. Nothing remote is needed (it works with Talon.One down), and
erasing twice changes nothing the second time. The erasure is recorded without the number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from selfserve.customers.identity import pseudonym
from selfserve.models import (
    BirthdaySend,
    CompetitionEntry,
    ConsentRecord,
    Customer,
    DeferredCode,
    Erasure,
    ErasureRequest,
    InboundMessage,
    IssuedCoupon,
    LoyaltyAward,
    OptOut,
    OutboundMessage,
    PhoneVerification,
    ReferralCode,
    ReferralUse,
    WhatsAppContact,
)

ERASED_PREFIX = "~"
ERASED_BODY = ""


@lru_cache(maxsize=65536)
def erasure_key(phone_e164: str, secret: str) -> str:
    """The keyed hash that stands for an erased number (16 characters, fits a number column).

    Keyed with IDENTITY_SECRET under its own label, so it is neither the number nor the
    customer id Talon.One knows the person by."""
    digest = hmac.new(secret.encode(), b"erasure\x00" + phone_e164.encode(), hashlib.sha256)
    return ERASED_PREFIX + base64.b32encode(digest.digest()[:10]).decode().lower()[:15]


def is_erasure_key(value: str) -> bool:
    """True for a number column that holds an erasure key instead of a number."""
    return value.startswith(ERASED_PREFIX)


def customer_ids_of(db: Session, phone_e164: str, secret: str) -> list[str]:
    """Every customer id the number has gone by: the directory's and the pseudonym."""
    ids = [pseudonym(phone_e164, secret)]
    directory_id = db.scalar(select(Customer.customer_id).where(Customer.phone_e164 == phone_e164))
    if directory_id:
        ids.append(directory_id)
    return ids


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure changed, per table; `changed` is False when nothing was stored."""

    row_counts: dict[str, int]

    @property
    def changed(self) -> bool:
        """True when any row was deleted or rewritten."""
        return any(self.row_counts.values())


def erase_person(
    db: Session,
    phone_e164: str,
    secret: str,
    *,
    method: str,
    now: datetime,
    message_sids: Iterable[str] = (),
) -> ErasureResult:
    """Erase the number's person inside the caller's transaction (see the module's doc).

    `message_sids`: texts of this conversation whose log rows carry no customer id yet.
    Records an `erasures` row when anything changed; the number stays opted out."""
    key = erasure_key(phone_e164, secret)
    ids = customer_ids_of(db, phone_e164, secret)
    counts = _delete_personal_rows(db, phone_e164, ids)
    counts.update(_rewrite_kept_rows(db, phone_e164, ids, key, list(message_sids)))
    counts["opt_outs"] = _keep_opted_out(db, phone_e164, key, now)
    result = ErasureResult(counts)
    if result.changed:
        db.add(Erasure(erased_at=now, method=method, row_counts=json.dumps(counts)))
    return result


def _delete_personal_rows(db: Session, phone: str, ids: list[str]) -> dict[str, int]:
    """Rows that serve only the person: gone."""
    referral_ids = select(ReferralCode.id).where(ReferralCode.advocate_customer_id.in_(ids))
    statements = {
        "referral_uses": delete(ReferralUse).where(
            or_(
                ReferralUse.friend_customer_id.in_(ids),
                ReferralUse.referral_code_id.in_(referral_ids),
            )
        ),
        "referral_codes": delete(ReferralCode).where(ReferralCode.advocate_customer_id.in_(ids)),
        "issued_coupons": delete(IssuedCoupon).where(IssuedCoupon.customer_id.in_(ids)),
        "deferred_codes": delete(DeferredCode).where(
            or_(DeferredCode.customer_id.in_(ids), DeferredCode.phone_e164 == phone)
        ),
        "outbound_messages_unsent": delete(OutboundMessage).where(
            OutboundMessage.to_e164 == phone, OutboundMessage.sent_at.is_(None)
        ),
        "phone_verifications": delete(PhoneVerification).where(
            PhoneVerification.phone_e164 == phone
        ),
        "erasure_requests": delete(ErasureRequest).where(ErasureRequest.phone_e164 == phone),
        "customers": delete(Customer).where(Customer.phone_e164 == phone),
        "whatsapp_contacts": delete(WhatsAppContact).where(WhatsAppContact.person == phone),
    }
    return {
        table: db.execute(statement, execution_options={"synchronize_session": False}).rowcount
        for table, statement in statements.items()
    }


def _rewrite_kept_rows(
    db: Session, phone: str, ids: list[str], key: str, message_sids: list[str]
) -> dict[str, int]:
    """Rows kept for counts and proof: the number and customer id become the erasure key."""
    inbound = or_(InboundMessage.customer_id.in_(ids), InboundMessage.message_sid.in_(message_sids))
    statements = {
        "inbound_messages": update(InboundMessage)
        .where(inbound)
        .values(customer_id=key, phone_masked=key, reply=None, detail=None),
        "outbound_messages": update(OutboundMessage)
        .where(OutboundMessage.to_e164 == phone)
        .values(to_e164=key, body=ERASED_BODY, detail=None),
        "consent_records": update(ConsentRecord)
        .where(ConsentRecord.phone_e164 == phone)
        .values(phone_e164=key),
        "competition_entries": update(CompetitionEntry)
        .where(or_(CompetitionEntry.phone_e164 == phone, CompetitionEntry.customer_id.in_(ids)))
        .values(phone_e164=key, customer_id=key),
        "loyalty_awards": update(LoyaltyAward)
        .where(LoyaltyAward.customer_id.in_(ids))
        .values(customer_id=key),
        "birthday_sends": update(BirthdaySend)
        .where(BirthdaySend.customer_id.in_(ids))
        .values(customer_id=key),
    }
    return {
        table: db.execute(statement, execution_options={"synchronize_session": False}).rowcount
        for table, statement in statements.items()
    }


def _keep_opted_out(db: Session, phone: str, key: str, now: datetime) -> int:
    """The opt-out register keeps the erasure key, opted out: proof, and no more texts."""
    changed = db.execute(delete(OptOut).where(OptOut.phone_e164 == phone)).rowcount
    row = db.get(OptOut, key)
    if row is None:
        db.add(OptOut(phone_e164=key, opted_out=True, changed_at=now, reason="erased"))
        return changed + 1
    if not row.opted_out:
        row.opted_out, row.changed_at, row.reason = True, now, "erased"
        return changed + 1
    return changed
