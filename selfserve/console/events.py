"""Security events of the console (MFA, passkeys, SSO): what happened, to whom, with what outcome.

Events go through one injected callable, `record_event(actor, action, target, outcome,
address=None, changes=None)`, wired to the append-only audit trail (console/audit.py).
Never pass a secret, a code or a full phone number.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

log = logging.getLogger(__name__)
_PENDING = "console_events_pending"


class RecordEvent(Protocol):
    """Records one security event."""

    def __call__(
        self,
        actor: str,
        action: str,
        target: str,
        outcome: str,
        address: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> None: ...


class RecordAfterTransaction:
    """`record_event` for code that records inside its own write transaction (second factors,
    passkeys, SSO): the event is appended once that transaction has ended, committed or rolled
    back (a refusal is recorded even when the work is undone); outside one, at once.

    The audit trail appends in a short transaction of its own. Doing that while the caller's
    transaction holds SQLite's one write lock would wait out the busy timeout and fail.
    """

    def __init__(self, record: RecordEvent, writes: sessionmaker[Session]) -> None:
        self._record = record
        self._open: ContextVar[tuple[Session, ...]] = ContextVar(
            f"open_write_sessions_{id(self)}", default=()
        )
        event.listen(writes, "after_transaction_create", self._opened)
        event.listen(writes, "after_transaction_end", self._ended)

    def __call__(
        self,
        actor: str,
        action: str,
        target: str,
        outcome: str,
        address: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> None:
        """Record now, or when the innermost open write transaction of this context ends."""
        entry = (actor, action, target, outcome, address, changes)
        sessions = self._open.get()
        if not sessions:
            self._record(*entry)
            return
        sessions[-1].info.setdefault(_PENDING, []).append(entry)

    def _opened(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            self._open.set((*self._open.get(), session))

    def _ended(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is not None:
            return
        self._open.set(tuple(open_ for open_ in self._open.get() if open_ is not session))
        for entry in session.info.pop(_PENDING, []):
            try:
                self._record(*entry)
            except Exception:  # the caller's work is done; say loudly that its event is not
                log.exception("console_event_not_recorded", extra={"action": entry[1]})
