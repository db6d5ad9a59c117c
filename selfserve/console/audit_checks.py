"""Checking and pruning the audit trail: `audit verify` and AUDIT_RETENTION_DAYS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from selfserve.console.audit import GENESIS, append_event, row_hash
from selfserve.models import AuditAnchor, AuditEvent, utcnow

VERIFY_BATCH = 1000  # rows read at a time: the trail can be long


@dataclass(frozen=True)
class AuditProblem:
    """One row that does not fit the chain, and why."""

    row_id: int
    reason: str

    def __str__(self) -> str:
        return f"audit row {self.row_id}: {self.reason}"


@dataclass(frozen=True)
class Verification:
    """What `verify_chain` found: how many rows it checked and every problem."""

    rows_checked: int
    problems: list[AuditProblem]

    @property
    def is_intact(self) -> bool:
        """True when every row matches its hash and the one before it."""
        return not self.problems


def _anchor(db: Session) -> AuditAnchor | None:
    return db.scalar(select(AuditAnchor).order_by(AuditAnchor.id.desc()).limit(1))


def verify_chain(db: Session) -> Verification:
    """Recompute every row's hash and link; name each row edited, or after a deleted one."""
    anchor = _anchor(db)
    expected_previous = anchor.last_hash if anchor else GENESIS
    previous_id = anchor.pruned_through_id if anchor else 0
    problems: list[AuditProblem] = []
    checked = 0
    while True:
        rows = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.id > previous_id)
            .order_by(AuditEvent.id)
            .limit(VERIFY_BATCH)
        ).all()
        if not rows:
            return Verification(checked, problems)
        for event in rows:
            problems.extend(_problems_of(event, expected_previous))
            expected_previous = event.row_hash
            previous_id = event.id
            checked += 1


def _problems_of(event: AuditEvent, expected_previous: str) -> list[AuditProblem]:
    found = []
    if row_hash(event) != event.row_hash:
        found.append(
            AuditProblem(
                event.id,
                f"edited: its contents ({event.action} by {event.actor}) no longer match "
                "the hash written with it",
            )
        )
    if event.previous_hash != expected_previous:
        found.append(
            AuditProblem(
                event.id,
                "the row before it is not the one it was chained to: a row before it was "
                "deleted, or rewritten with a new hash",
            )
        )
    return found


def prune_before(db: Session, now: datetime, retention_days: int) -> int:
    """Delete rows older than `retention_days`, keeping the chain checkable; returns how many.

    The hash of the newest pruned row is kept as the anchor the oldest kept row points at.
    """
    cutoff = now - timedelta(days=retention_days)
    last_old = db.scalar(
        select(AuditEvent).where(AuditEvent.at < cutoff).order_by(AuditEvent.id.desc()).limit(1)
    )
    if last_old is None:
        return 0
    count = db.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= last_old.id)
    )
    anchor = _anchor(db)
    if anchor is None:
        anchor = AuditAnchor(pruned_through_id=0, last_hash=GENESIS, pruned_at=now)
        db.add(anchor)
    anchor.pruned_through_id = last_old.id
    anchor.last_hash = last_old.row_hash
    anchor.pruned_at = now
    db.execute(delete(AuditEvent).where(AuditEvent.id <= last_old.id))
    db.flush()
    return int(count or 0)


class AuditRetention:
    """AUDIT_RETENTION_DAYS applied: the worker runs `prune_now` daily, `audit prune` on demand."""

    def __init__(
        self,
        writes: sessionmaker[Session],
        retention_days: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._writes = writes
        self._retention_days = retention_days
        self._clock = clock

    def prune_now(self, actor: str = "system:worker") -> int:
        """Prune rows past retention and record that it happened; returns how many."""
        with self._writes.begin() as db:
            removed = prune_before(db, self._clock(), self._retention_days)
            append_event(
                db,
                at=self._clock(),
                actor=actor,
                action="audit_prune",
                target=f"older than {self._retention_days} days",
                outcome="ok",
                address="localhost",
                changes={"rows": removed},
            )
        return removed
