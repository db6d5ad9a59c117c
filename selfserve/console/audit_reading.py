"""Reading the audit trail: the owners' page with its filters, and its CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from selfserve.models import AuditEvent

CSV_COLUMNS = ["id", "at", "actor", "address", "action", "target", "outcome"]
CSV_HEADER = [*CSV_COLUMNS, "field", "before", "after"]
PAGE_SIZE = 100


@dataclass(frozen=True)
class AuditChange:
    """One changed field of an event: its value before and after."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class AuditEntry:
    """One event as the page and the CSV show it."""

    id: int
    at: datetime
    actor: str
    address: str
    action: str
    target: str
    outcome: str
    changes: list[AuditChange]


@dataclass(frozen=True)
class AuditFilter:
    """Which events to show: by actor, by action, from and to a day (inclusive)."""

    actor: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _changes(stored: str) -> list[AuditChange]:
    try:
        changes = json.loads(stored or "{}")
    except ValueError:
        return [AuditChange("(unreadable)", "", stored)]
    if not isinstance(changes, dict):
        return [AuditChange("", "", _text(changes))]
    found = []
    for name, value in sorted(changes.items()):
        if isinstance(value, dict) and set(value) <= {"before", "after"}:
            found.append(AuditChange(name, _text(value.get("before")), _text(value.get("after"))))
        else:
            found.append(AuditChange(name, "", _text(value)))
    return found


def _entry(event: AuditEvent) -> AuditEntry:
    return AuditEntry(
        event.id,
        event.at,
        event.actor,
        event.address,
        event.action,
        event.target,
        event.outcome,
        _changes(event.changes),
    )


def _filtered(query: Select[tuple[AuditEvent]], chosen: AuditFilter) -> Select[tuple[AuditEvent]]:
    if chosen.actor:
        query = query.where(AuditEvent.actor == chosen.actor.strip().lower())
    if chosen.action:
        query = query.where(AuditEvent.action == chosen.action.strip())
    if chosen.since:
        query = query.where(AuditEvent.at >= datetime.combine(chosen.since, time(), UTC))
    if chosen.until:
        next_day = datetime.combine(chosen.until + timedelta(days=1), time(), UTC)
        query = query.where(AuditEvent.at < next_day)
    return query


def audit_page(db: Session, chosen: AuditFilter, page: int = 1) -> tuple[list[AuditEntry], bool]:
    """One page of matching events, newest first, and whether an older page follows."""
    query = _filtered(select(AuditEvent), chosen).order_by(AuditEvent.id.desc())
    rows = db.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return [_entry(event) for event in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def audit_choices(db: Session) -> tuple[list[str], list[str]]:
    """The actors and actions in the trail, for the page's filters."""
    actors = db.scalars(select(AuditEvent.actor).distinct().order_by(AuditEvent.actor)).all()
    actions = db.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    return list(actors), list(actions)


def _spreadsheet_safe(text_value: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (replies are typed by people)."""
    return "'" + text_value if text_value[:1] in ("=", "+", "-", "@", "\t", "\r") else text_value


def _csv_lines(db: Session, chosen: AuditFilter) -> Iterator[list[str]]:
    query = _filtered(select(AuditEvent), chosen).order_by(AuditEvent.id)
    for event in db.scalars(query.execution_options(yield_per=500)):
        entry = _entry(event)
        head = [
            str(entry.id),
            entry.at.astimezone(UTC).isoformat(timespec="seconds"),
            entry.actor,
            entry.address,
            entry.action,
            entry.target,
            entry.outcome,
        ]
        for change in entry.changes or [AuditChange("", "", "")]:
            cells = (*head, change.field, change.before, change.after)
            yield [_spreadsheet_safe(cell) for cell in cells]


def audit_csv(db: Session, chosen: AuditFilter | None = None) -> str:
    """The matching events as CSV, oldest first, one line per changed field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    writer.writerows(_csv_lines(db, chosen or AuditFilter()))
    return buffer.getvalue()
