"""The few driver connections the webhook's one-statement paths use (database.py)."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from selfserve.ops import SetAsideConnections, build_engine


@pytest.fixture
def engine(tmp_path):
    engine = build_engine(f"sqlite:///{tmp_path / 'set-aside.db'}")
    yield engine
    engine.dispose()


def test_many_threads_share_at_most_the_cap(engine):
    connections = SetAsideConnections(engine, cap=2)
    seen: set[int] = set()
    guard = threading.Lock()
    original = connections._connect

    def counting_connect():
        connection = original()
        with guard:
            seen.add(id(connection))
        return connection

    connections._connect = counting_connect
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: connections.run("SELECT ?", (i,)), range(400)))
    assert [row[0][0] for row in results] == list(range(400))
    assert len(seen) <= 2
    connections.close()


def test_a_failed_statement_frees_its_place_for_a_new_connection(engine):
    connections = SetAsideConnections(engine, cap=1)
    with pytest.raises(sqlite3.OperationalError):
        connections.run("SELECT * FROM no_such_table", ())
    # The only place was given back: the next statement opens a fresh connection.
    assert connections.run("SELECT 41 + 1", ()) == [(42,)]


def test_a_statement_without_rows_answers_an_empty_list(engine):
    connections = SetAsideConnections(engine, cap=1)
    assert connections.run("CREATE TABLE t (x INTEGER)", ()) == []
    assert connections.run("INSERT INTO t VALUES (1) RETURNING x", ()) == [(1,)]
    assert connections.run("SELECT x FROM t", ()) == [(1,)]
