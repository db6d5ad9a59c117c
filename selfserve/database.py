"""The engine and session factory, with SQLite tuned for a threaded web server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

WRITE_FIRST = "selfserve_write_first"


def build_engine(database_url: str) -> Engine:
    """Create the engine for `database_url`; SQLite gets WAL, a busy timeout and foreign keys."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_size=20, max_overflow=40, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=20,
        max_overflow=40,
    )

    @event.listens_for(engine, "connect")
    def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (BEGIN below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
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
    dialect = db.get_bind().dialect.name
    statement: Any
    if dialect == "postgresql":
        statement = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported dialects reach here
        statement = insert(table).values(**values)
    # RETURNING, not rowcount: drivers disagree on rowcount for a skipped conflict.
    first_column = next(iter(table.primary_key.columns))
    return db.execute(statement.returning(first_column)).first() is not None
