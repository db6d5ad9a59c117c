"""The engine and session factory, with SQLite tuned for a threaded web server."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import math
import os
import queue
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

WRITE_FIRST = "selfserve_write_first"


def build_engine(database_url: str, timeout_seconds: float = 30.0) -> Engine:
    """Create the engine for `database_url`; SQLite gets WAL, a busy timeout and foreign keys.

    `timeout_seconds` (DATABASE_TIMEOUT_SECONDS for the app) bounds connecting to PostgreSQL
    (libpq `connect_timeout`: a host that drops packets would otherwise hold a request for
    minutes) and SQLite's busy wait. PostgreSQL connections that died with a server restart
    are replaced when checked out (`pool_pre_ping`), so the first request after it succeeds.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(
            url,
            pool_size=20,
            max_overflow=40,
            pool_pre_ping=True,
            connect_args={"connect_timeout": max(2, math.ceil(timeout_seconds))},
        )
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # pysqlite's own arguments ride on the URL: the busy timeout, and connections that
    # the pool hands between threads.
    busy_ms = int(timeout_seconds * 1000)
    url = url.update_query_dict({"timeout": str(timeout_seconds), "check_same_thread": "false"})
    engine = create_engine(url, pool_size=20, max_overflow=40)

    @event.listens_for(engine, "connect")
    def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (BEGIN below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed claim, code or opt-out survives a power cut (NORMAL in WAL mode
        # may lose the last commits); bench/README.md has its cost. The batched message log
        # relaxes it for its own commits (relaxed_durability).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Readers never wait (WAL). A transaction that reads before it writes asks for the
        # write lock up front (IMMEDIATE), or SQLite would fail it when another writer got in
        # between instead of waiting (busy_timeout does not cover that upgrade).
        if connection.get_execution_options().get(WRITE_FIRST):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


@contextlib.contextmanager
def relaxed_durability(connection: Any) -> Iterator[None]:
    """On SQLite, commit what runs inside with `synchronous=NORMAL` (no fsync per commit; a
    power cut may lose it), for writes that are records, not decisions (the batched message
    log); FULL again after. Enter it before the transaction begins. Elsewhere, nothing."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        raw.execute("PRAGMA synchronous=FULL")


def build_sessionmaker(engine: Engine, *, write_first: bool = False) -> sessionmaker[Session]:
    """A session factory: a request or a job opens `with factory.begin() as db:`.

    `write_first=True` is for transactions that read, then write (imports, edits): on SQLite
    they take the write lock when they begin, so they wait their turn instead of failing.
    """
    bind = engine.execution_options(**{WRITE_FIRST: True}) if write_first else engine
    return sessionmaker(bind, expire_on_commit=False)


def insert_ignoring_duplicates(db: Session, table: Any, values: dict[str, Any]) -> bool:
    """INSERT a row unless a unique constraint already holds it; True when it was inserted.

    SQLite and PostgreSQL spell the upsert differently; this hides that in one place.
    """
    statement = _insert_ignoring(db.bind.dialect.name, table)
    return db.execute(statement, values).first() is not None


@functools.lru_cache(maxsize=64)
def _insert_ignoring(dialect: str, table: Any) -> Any:
    """The statement, built once: values are bound at execution (building them into the
    statement every time cost more than running it)."""
    statement: Any
    if dialect == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported dialects reach here
        statement = insert(table)
    # RETURNING, not rowcount: drivers disagree on rowcount for a skipped conflict.
    first_column = next(iter(table.primary_key.columns))
    return statement.returning(first_column)


# PostgreSQL settings of the set-aside connections, whose statements are index lookups and
# single-row writes by design. Prepared once (psycopg prepares a statement run 5 times) and
# planned once: planning the fast path's read for each group of texts cost more than running
# it. And never a scan or hash of a whole table, whatever the statistics say: a plan made
# while inbound_messages was empty (a fresh deployment, then the stadium) kept scanning it
# as it grew, and PostgreSQL's cost per text rose from 65 us to 850 us (bench scenario 4).
_INDEX_LOOKUPS_ONLY = (
    "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; "
    "SET enable_hashjoin = off; SET enable_mergejoin = off"
)


class SetAsideConnections:
    """A few driver connections taken from the engine once, for one-statement hot paths.

    SQLAlchemy's pool checks a connection out, pings it and rolls it back on return; for one
    indexed statement that bookkeeping cost more than the statement. These connections are
    detached from the pool and in autocommit (SQLite: as every connection of ours is;
    PostgreSQL: set here), so each statement is its own transaction and one round trip.
    Idle connections wait in a `queue.SimpleQueue` (taken and given back in C, without a
    Python-level lock that every webhook thread would queue on: py-spy showed one costing 7 %
    of a worker). Safe across fork: a child never uses its parent's connections.
    """

    def __init__(self, engine: Engine, cap: int, timeout_seconds: float = 2.0) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._cap = cap
        self._timeout_ms = max(1, int(timeout_seconds * 1000))
        self._opening = threading.Lock()  # only taken to open or discard a connection
        self._reset()

    def _reset(self) -> None:
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._open = 0
        self._pid = os.getpid()

    def run(self, sql: str, parameters: Any) -> list[Any]:
        """Execute one statement on a set-aside connection; its rows (empty without any).

        An idle connection that died meanwhile (the server restarted) is replaced and the
        statement tried once more on a fresh one, so the first text after a restart is
        answered, not failed. Anything interrupting the statement (an error, a deadline)
        throws the connection away: its state is unknown.
        """
        for attempt in (1, 2):
            connection, reused = self._take()
            try:
                cursor = connection.cursor()
                cursor.execute(sql, parameters)
                rows = cursor.fetchall() if cursor.description is not None else []
                cursor.close()
            except BaseException as error:
                dead = bool(
                    getattr(connection, "closed", False) or getattr(connection, "broken", False)
                )
                self._discard(connection)
                if attempt == 1 and reused and dead and isinstance(error, Exception):
                    continue
                raise
            self._idle.put(connection)
            return rows
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        """Close the idle connections."""
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                return
            if connection is not None:
                with self._opening:
                    self._open -= 1
                connection.close()

    def _take(self) -> tuple[Any, bool]:
        """A connection, and whether it was used before (False: opened just now)."""
        if self._pid != os.getpid():  # forked: the parent's connections are not ours
            with self._opening:
                if self._pid != os.getpid():
                    self._reset()
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                connection = self._open_one()
                if connection is not None:
                    return connection, False
                connection = self._idle.get()  # at the cap: wait for one
            if connection is not None:  # None: a discarded one's place is free again
                return connection, True

    def _open_one(self) -> Any:
        with self._opening:
            if self._open >= self._cap:
                return None
            self._open += 1
        try:
            return self._connect()
        except Exception:
            with self._opening:
                self._open -= 1
            raise

    def _discard(self, connection: Any) -> None:
        with self._opening:
            self._open -= 1
        self._idle.put(None)  # wakes a thread waiting at the cap, which may open a new one
        with contextlib.suppress(Exception):  # it is being thrown away anyway
            connection.close()

    def _connect(self) -> Any:
        pooled = self._engine.raw_connection()
        connection = pooled.driver_connection
        pooled.detach()  # ours now: the pool neither pings nor resets it
        if self._postgres:
            connection.autocommit = True
            connection.execute(_INDEX_LOOKUPS_ONLY)
            # The hot path's bound (DATABASE_TIMEOUT_SECONDS): a statement stuck behind a lock
            # or a slow disk fails and the text is spooled, instead of holding the webhook.
            connection.execute(f"SET statement_timeout = {self._timeout_ms}")
        else:
            connection.execute(f"PRAGMA busy_timeout={self._timeout_ms}")
        return connection


def _is_dead(connection: Any) -> bool:
    """psycopg marks a connection whose server went away `broken` (or `closed`)."""
    return bool(getattr(connection, "closed", False) or getattr(connection, "broken", False))


class _WriteTurn:
    """A thread lock plus an flock(2) on a file beside the database: one writer at a time
    across every thread and process on this host, handed over at once by the kernel."""

    def __init__(self, lock_path: str | None) -> None:
        self._lock = threading.Lock()
        self._path = lock_path
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._lock.acquire()
        if self._path is None:
            return
        try:
            if self._fd is None or self._pid != os.getpid():
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._path is not None and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()


_write_turns: weakref.WeakKeyDictionary[Any, _WriteTurn] = weakref.WeakKeyDictionary()
_write_turns_guard = threading.Lock()


def write_turn(bind: Any) -> contextlib.AbstractContextManager[Any]:
    """Hold this around a short SQLite write transaction on a busy path.

    SQLite has one write lock per database. Threads and processes that find it taken wait in
    SQLite's busy handler, which sleeps and retries (1, 2, 5 … 100 ms): under 100 threads the
    sleeps, not the writes, set the pace. Taking turns first — a thread lock, then an flock
    on `<database>.writelock` shared by every process — hands the write lock over at once.
    PostgreSQL locks rows, not the database: nothing to do there.
    """
    engine = getattr(bind, "engine", bind)
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    with _write_turns_guard:
        turn = _write_turns.get(engine.pool)
        if turn is None:
            database = engine.url.database
            path = f"{database}.writelock" if database and database != ":memory:" else None
            turn = _write_turns[engine.pool] = _WriteTurn(path)
    return turn
