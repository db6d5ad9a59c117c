"""Who is texting: a phone number becomes a customer id, never leaving the app itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from selfserve.models import Customer

PSEUDONYM_PREFIX = "ss-"


@dataclass(frozen=True)
class Identity:
    """The customer behind a number: their id (directory or pseudonym) and first name."""

    phone_e164: str
    customer_id: str
    first_name: str = ""
    in_directory: bool = False


@lru_cache(maxsize=65536)
def pseudonym(phone_e164: str, secret: str) -> str:
    """A stable customer id for a number not in the directory: a keyed hash, not reversible.

    Pure, so cached: every text computes it (the fast path looks codes up under it).
    """
    digest = hmac.new(secret.encode(), phone_e164.encode(), hashlib.sha256).digest()
    return PSEUDONYM_PREFIX + base64.b32encode(digest[:15]).decode().lower()


def identify(db: Session, phone_e164: str, secret: str) -> Identity:
    """The directory's customer for `phone_e164`, or a keyed pseudonym when there is none."""
    row = db.execute(
        select(Customer.customer_id, Customer.first_name).where(Customer.phone_e164 == phone_e164)
    ).first()
    if row is not None:
        return Identity(phone_e164, row.customer_id, row.first_name or "", in_directory=True)
    return Identity(phone_e164, pseudonym(phone_e164, secret))
