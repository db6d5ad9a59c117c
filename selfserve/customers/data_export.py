"""Everything stored about one number, as plain JSON-ready values (a subject access request).

Read from every table that holds the number or one of its customer ids: the directory row,
the consent trail, the opt-out register, codes with their campaign and date, codes still owed,
the message log with bodies (texts received and sent), referral codes and uses, competition
entries and loyalty awards. Erased rows hold only an erasure key, so they no longer appear.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from selfserve.customers.erasure import customer_ids_of
from selfserve.models import (
    CompetitionEntry,
    ConsentRecord,
    Customer,
    DeferredCode,
    InboundMessage,
    IssuedCoupon,
    LoyaltyAward,
    OptOut,
    OutboundMessage,
    ReferralCode,
    ReferralUse,
)

SECTIONS = (
    "directory",
    "consent",
    "opt_out",
    "codes",
    "owed_codes",
    "texts_received",
    "texts_sent",
    "referral_codes",
    "referrals_as_friend",
    "competition_entries",
    "loyalty_awards",
)


def export_person(db: Session, phone_e164: str, secret: str) -> dict[str, Any]:
    """Everything stored about the number, section by section (see SECTIONS)."""
    ids = customer_ids_of(db, phone_e164, secret)
    data: dict[str, Any] = {"phone": phone_e164}
    data["directory"] = _rows(db, select(Customer).where(Customer.phone_e164 == phone_e164))
    data["consent"] = _rows(
        db,
        select(ConsentRecord)
        .where(ConsentRecord.phone_e164 == phone_e164)
        .order_by(ConsentRecord.recorded_at, ConsentRecord.id),
    )
    data["opt_out"] = _rows(db, select(OptOut).where(OptOut.phone_e164 == phone_e164))
    data["codes"] = _rows(
        db,
        select(IssuedCoupon)
        .where(IssuedCoupon.customer_id.in_(ids))
        .order_by(IssuedCoupon.issued_at),
    )
    data["owed_codes"] = _rows(
        db,
        select(DeferredCode).where(
            or_(DeferredCode.customer_id.in_(ids), DeferredCode.phone_e164 == phone_e164)
        ),
    )
    data["texts_received"] = _rows(
        db,
        select(InboundMessage)
        .where(InboundMessage.customer_id.in_(ids))
        .order_by(InboundMessage.received_at),
    )
    data["texts_sent"] = _rows(
        db,
        select(OutboundMessage)
        .where(OutboundMessage.to_e164 == phone_e164)
        .order_by(OutboundMessage.created_at),
    )
    data.update(_journey_sections(db, phone_e164, ids))
    return data


def has_data(export: dict[str, Any]) -> bool:
    """True when the export found anything stored about the number."""
    return any(export[section] for section in SECTIONS)


def _journey_sections(db: Session, phone_e164: str, ids: list[str]) -> dict[str, Any]:
    return {
        "referral_codes": _rows(
            db, select(ReferralCode).where(ReferralCode.advocate_customer_id.in_(ids))
        ),
        "referrals_as_friend": _rows(
            db, select(ReferralUse).where(ReferralUse.friend_customer_id.in_(ids))
        ),
        "competition_entries": _rows(
            db,
            select(CompetitionEntry).where(
                or_(
                    CompetitionEntry.phone_e164 == phone_e164,
                    CompetitionEntry.customer_id.in_(ids),
                )
            ),
        ),
        "loyalty_awards": _rows(db, select(LoyaltyAward).where(LoyaltyAward.customer_id.in_(ids))),
    }


def _rows(db: Session, statement: Any) -> list[dict[str, Any]]:
    """Each row's columns as JSON-ready values (times as ISO 8601)."""
    return [
        {column.key: _plain(getattr(row, column.key)) for column in row.__table__.columns}
        for row in db.scalars(statement)
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
