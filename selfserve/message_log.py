"""The message log, written in batches by one writer thread per process.

A returning customer's reply does not depend on its message-log row, so the webhook hands the
row to this writer and answers at once; the writer inserts whatever has gathered in one
statement (`INSERT … VALUES (…), (…) … ON CONFLICT (message_sid) DO NOTHING`), a few times
a second. Why this is safe:

- The row is a record, not a decision. Codes are written by the slow path before it answers,
  so a crash can lose at most the log rows of the last moment, never a code.
- A clean stop (gunicorn's SIGTERM, `Services.close()`, interpreter exit) flushes first.
- MessageSid stays unique: a duplicate delivery computes the same reply again, and its row
  loses the ON CONFLICT race, in this process or any other.
- A failed write (database briefly away, SQLite busy) keeps the rows and tries again; only
  past `max_pending` rows are the oldest dropped, loudly, so memory stays bounded.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.dialects import postgresql, sqlite

from selfserve.database import write_turn
from selfserve.models import InboundMessage

log = logging.getLogger(__name__)


class MessageLogWriter:
    """Collects message-log rows and writes them in batches from one background thread."""

    def __init__(
        self,
        engine: Engine,
        interval_seconds: float = 0.1,
        batch_size: int = 200,
        max_pending: int = 200_000,
    ) -> None:
        self._engine = engine
        self._interval = interval_seconds
        self._batch_size = batch_size
        self._max_pending = max_pending
        self._pending: deque[dict[str, Any]] = deque()
        self._wake = threading.Event()
        self._write_lock = threading.Lock()  # one batch at a time (writer thread or a flush)
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False
        self._statement = _insert_ignoring_duplicates(engine)
        self._write_turn = write_turn(engine)
        self.written = 0
        self.dropped = 0

    def add(self, row: dict[str, Any]) -> None:
        """Queue one inbound_messages row (every column the table needs)."""
        if self._closed:
            self._write([row])
            return
        self._pending.append(row)  # deque.append is atomic: no lock on the hot path
        if self._thread is None or self._pid != os.getpid():
            self._start()
        if len(self._pending) >= self._batch_size:
            self._wake.set()

    def flush(self) -> None:
        """Write every queued row now (tests, shutdown)."""
        while self._pending:
            if not self._write_batch():
                break

    def close(self) -> None:
        """Stop the thread after writing everything queued. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=10)
        self.flush()
        if self._pending:
            log.error("message_log_rows_lost", extra={"rows": len(self._pending)})

    @property
    def pending(self) -> int:
        """Rows queued and not yet written."""
        return len(self._pending)

    def _start(self) -> None:
        with self._write_lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, name="message-log-writer", daemon=True
            )
            self._thread.start()
            atexit.register(self.close)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            while self._pending and not self._closed:
                if not self._write_batch():
                    time.sleep(min(1.0, self._interval * 5))  # the database is away: back off
                    break

    def _write_batch(self) -> bool:
        with self._write_lock:
            batch: list[dict[str, Any]] = []
            while self._pending and len(batch) < self._batch_size:
                batch.append(self._pending.popleft())
            if not batch:
                return True
            if self._write(batch):
                return True
            self._pending.extendleft(reversed(batch))  # keep their order; try again later
            overflow = len(self._pending) - self._max_pending
            if overflow > 0:
                for _ in range(overflow):
                    self._pending.popleft()
                self.dropped += overflow
                log.error("message_log_rows_dropped", extra={"rows": overflow})
            return False

    def _write(self, rows: list[dict[str, Any]]) -> bool:
        try:
            # One multi-row INSERT: a single statement step however many rows (executemany
            # steps per row, and each step waits its turn for the GIL under load).
            statement = self._statement.values(rows)
            with self._write_turn, self._engine.begin() as connection:
                connection.execute(statement)
        except Exception as error:  # noqa: BLE001 - keep the rows whatever went wrong
            log.warning(
                "message_log_write_failed",
                extra={"rows": len(rows), "error": type(error).__name__},
            )
            return False
        self.written += len(rows)
        return True


def _insert_ignoring_duplicates(engine: Engine) -> Any:
    table = InboundMessage.__table__
    dialect = engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["message_sid"])
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["message_sid"])
    return insert(table)  # pragma: no cover - only the two supported dialects reach here
