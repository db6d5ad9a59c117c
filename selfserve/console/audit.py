"""The audit trail: who did what, to what, from where, and how it went (ASVS 7.1.3, 7.2.x).

Append-only: the app only ever inserts rows (and prunes the oldest after
AUDIT_RETENTION_DAYS). Each row carries the SHA-256 of the row before it over a canonical
serialisation, and its own, so `audit verify` finds a row edited or deleted in the database.
Phone numbers are masked before anything is stored. `AuditTrail.record` opens its own
transaction, so a refused action or a failed log-in (whose own work is rolled back or never
started) is still recorded.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from selfserve.customers import mask_phone
from selfserve.models import AuditAnchor, AuditEvent, utcnow

GENESIS = ""  # the previous hash of the first row ever written
_LOCK_KEY = 3_000_030  # PostgreSQL advisory lock: one writer extends the chain at a time
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d ().-]{6,}\d(?!\w)")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d")
MIN_PHONE_DIGITS = 9  # shorter runs are ids, amounts, dates; no mobile number is that short


def _masked_match(found: re.Match[str]) -> str:
    text_value = found.group(0)
    digits = sum(char.isdigit() for char in text_value)
    if digits < MIN_PHONE_DIGITS or _DATE.match(text_value):
        return text_value
    return mask_phone(text_value)


def mask_numbers(text_value: str) -> str:
    """`text_value` with anything that looks like a phone number masked."""
    return _PHONE.sub(_masked_match, text_value)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_numbers(value)
    if isinstance(value, Mapping):
        return {str(key): _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def canonical_changes(changes: Mapping[str, Any] | None) -> str:
    """The changes as stored and hashed: masked, keys sorted, compact JSON."""
    return json.dumps(
        _masked(dict(changes or {})),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


def row_hash(event: AuditEvent) -> str:
    """The SHA-256 (hex) of a row's contents and the hash it was chained to."""
    at = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    fields = [
        at,
        event.actor,
        event.address,
        event.action,
        event.target,
        event.outcome,
        event.changes,
        event.previous_hash,
    ]
    serialised = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(serialised.encode("utf-8")).hexdigest()


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """{field: {"before": old, "after": new}} for each field whose value differs."""
    return {
        name: {"before": before.get(name), "after": after.get(name)}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


class AuditTrail:
    """Appends events to the hash-chained trail, each in its own short transaction."""

    def __init__(
        self, writes: sessionmaker[Session], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._writes = writes
        self._clock = clock

    def record(
        self,
        actor: str,
        action: str,
        target: str,
        outcome: str,
        address: str | None = None,
        changes: dict | None = None,
    ) -> None:
        """Append one event: `actor` did `action` to `target` from `address`, with `outcome`."""
        with self._writes.begin() as db:
            append_event(
                db,
                at=self._clock(),
                actor=actor,
                action=action,
                target=target,
                outcome=outcome,
                address=address,
                changes=changes,
            )


def append_event(
    db: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    address: str | None = None,
    changes: Mapping[str, Any] | None = None,
) -> None:
    """Append one event to the chain inside the caller's transaction."""
    _lock_chain(db)
    previous = db.scalar(select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1))
    if previous is None:
        previous = db.scalar(select(AuditAnchor.last_hash).order_by(AuditAnchor.id.desc()))
    event = AuditEvent(
        at=at.astimezone(UTC),
        actor=mask_numbers(actor)[:254],
        address=(address or "")[:64],
        action=action[:64],
        target=mask_numbers(target)[:254],
        outcome=outcome[:32],
        changes=canonical_changes(changes),
        previous_hash=previous or GENESIS,
    )
    event.row_hash = row_hash(event)
    db.add(event)
    db.flush()


def _lock_chain(db: Session) -> None:
    """Serialise appends: two writers reading the same last row would fork the chain.

    SQLite allows one writer at a time already; PostgreSQL takes a transaction-scoped lock.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
