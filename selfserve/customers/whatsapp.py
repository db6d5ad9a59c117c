"""WhatsApp contacts: who wrote to us on WhatsApp, their 24-hour window, their WhatsApp opt-out.

Meta lets a business write free-form to a person only within 24 hours of that person's last
message; later, only an approved template. So every inbound WhatsApp message moves the
person's window on. Opt-outs are per channel: Twilio's STOP filtering does not cover
WhatsApp, so a WhatsApp STOP is ours to honour, and it stops WhatsApp only.

Since 2026 a WhatsApp `From` may be a business-scoped user id (`US.13491208655302741918`,
"BSUID") instead of a number. Such a person has no number: they get a key of their own,
`wa.` + 13 characters of a hash of the id, which fits every phone column and matches no
directory entry and no SMS number. The id itself is kept here, to write back to.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from selfserve.models import WhatsAppContact

WINDOW = timedelta(hours=24)
SCOPED_PREFIX = "wa."
# Two-letter country, a dot, up to 128 letters and digits (a parent id adds `ENT.`); a
# little more is accepted (`_`, `-`, `.`) so a format change never turns a person away.
SCOPED_ID = re.compile(r"^[A-Z]{2}\.[A-Za-z0-9][A-Za-z0-9._-]{0,139}$")


def is_scoped_id(address: str) -> bool:
    """True when a WhatsApp address is a business-scoped user id rather than a number."""
    return bool(SCOPED_ID.match(address))


def scoped_person(scoped_id: str) -> str:
    """Our 16-character key for a business-scoped user id (stable, not reversible)."""
    digest = hashlib.sha256(scoped_id.encode()).digest()
    return SCOPED_PREFIX + base64.b32encode(digest).decode()[:13]


def has_phone(person: str) -> bool:
    """False for a business-scoped person: there is no number to text instead."""
    return not person.startswith(SCOPED_PREFIX)


def touch_whatsapp(db: Session, person: str, address: str, at: datetime) -> None:
    """An inbound WhatsApp message from `person`: their window runs 24 hours from `at`."""
    row = db.get(WhatsAppContact, person)
    if row is None:
        db.add(WhatsAppContact(person=person, address=address, last_inbound_at=at, changed_at=at))
    else:
        row.address = address
        row.last_inbound_at = at
    db.flush()


def whatsapp_window_open(db: Session, person: str, now: datetime) -> bool:
    """True while a free-form WhatsApp message may go to `person` (24 h from their last)."""
    last = db.scalar(
        select(WhatsAppContact.last_inbound_at).where(WhatsAppContact.person == person)
    )
    return last is not None and now - last < WINDOW


def whatsapp_address(db: Session, person: str) -> str:
    """What follows `whatsapp:` when writing to `person` (their number, or their scoped id)."""
    address = db.scalar(select(WhatsAppContact.address).where(WhatsAppContact.person == person))
    return address or person


def is_whatsapp_opted_out(db: Session, person: str) -> bool:
    """True when `person` stopped WhatsApp messages (STOP on WhatsApp, or Twilio's 63014)."""
    return bool(
        db.scalar(select(WhatsAppContact.opted_out).where(WhatsAppContact.person == person))
    )


def set_whatsapp_opt_out(
    db: Session, person: str, opted_out: bool, reason: str, at: datetime
) -> None:
    """Record a WhatsApp opt-out (or opt-in); SMS is untouched."""
    row = db.get(WhatsAppContact, person)
    if row is None:
        db.add(
            WhatsAppContact(
                person=person, address=person, opted_out=opted_out, reason=reason, changed_at=at
            )
        )
    else:
        row.opted_out = opted_out
        row.reason = reason
        row.changed_at = at
    db.flush()


def forget_whatsapp(db: Session, person: str) -> None:
    """Erasure: drop the address and the window, keep an opt-out standing."""
    db.execute(
        update(WhatsAppContact)
        .where(WhatsAppContact.person == person)
        .values(address=person, last_inbound_at=None)
    )
