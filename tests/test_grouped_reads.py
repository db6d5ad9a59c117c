"""Reads asked together answered by one statement (ops/grouped_reads.py), and the fast path's
read staying an index lookup on a fresh database (texts/facts.py)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from selfserve.ops import GroupedReads, SetAsideConnections, build_engine
from selfserve.texts.facts import _FACTS_SQL, _GROUPED_SQL, FactReader


class SlowDoubler:
    """`run` for GroupedReads: doubles each key after a pause, recording each group."""

    def __init__(self, pause: float = 0.01) -> None:
        self.pause = pause
        self.groups: list[list[int]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._guard = threading.Lock()

    def __call__(self, keys):
        with self._guard:
            self.groups.append(list(keys))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.pause)
        with self._guard:
            self.in_flight -= 1
        return [key * 2 for key in keys]


def test_reads_asked_together_share_statements_and_each_gets_its_own_answer():
    run = SlowDoubler()
    reads = GroupedReads(run, leaders=2, most=8)
    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(reads.read, range(300)))
    assert answers == [key * 2 for key in range(300)]
    assert sorted(key for group in run.groups for key in group) == list(range(300))
    assert len(run.groups) < 300 / 2  # grouped: far fewer statements than reads
    assert max(len(group) for group in run.groups) <= 8
    assert run.most_in_flight <= 2


def test_a_read_alone_runs_at_once_by_itself():
    run = SlowDoubler(pause=0)
    reads = GroupedReads(run, leaders=1, most=8)
    assert [reads.read(key) for key in range(3)] == [0, 2, 4]
    assert run.groups == [[0], [1], [2]]


def test_a_failed_group_fails_each_of_its_reads_and_the_next_groups_go_on():
    failing = {"on": True}

    def run(keys):
        time.sleep(0.01)
        if failing["on"] and 13 in keys:
            raise RuntimeError("database went away")
        return [key + 1 for key in keys]

    reads = GroupedReads(run, leaders=1, most=4)

    def read(key):
        try:
            return reads.read(key)
        except RuntimeError as error:
            return str(error)

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(read, range(40)))
    assert answers[13] == "database went away"
    assert sum(answer == "database went away" for answer in answers) <= 4  # its group only
    assert all(answers[key] == key + 1 for key in range(40) if answers[key] != answers[13])
    failing["on"] = False
    assert reads.read(13) == 14  # the lead was handed back: nothing is stuck


def test_a_run_answering_the_wrong_number_of_results_is_an_error_not_a_mixup():
    reads = GroupedReads(lambda keys: [], leaders=1, most=4)
    with pytest.raises(RuntimeError, match="0 answers for 1 reads"):
        reads.read(1)


@pytest.mark.parametrize(("leaders", "most"), [(0, 4), (1, 0)])
def test_limits_below_one_are_refused(leaders, most):
    with pytest.raises(ValueError, match="at least 1"):
        GroupedReads(lambda keys: keys, leaders=leaders, most=most)


def test_the_fast_path_read_is_index_lookups_on_an_empty_database(database_url):
    """A fresh deployment has empty tables and no statistics: the plan the read gets then
    must still look every row up by its index, or it reads whole tables once they grow."""
    engine = build_engine(database_url)
    connections = SetAsideConnections(engine, cap=1)
    try:
        if engine.dialect.name == "postgresql":
            plan = _generic_plan(connections, _GROUPED_SQL)
            assert "Seq Scan" not in plan
            assert "Materialize" not in plan
            assert "ix_deferred_codes_state_next" not in plan
            for index in (
                "uq_customers_phone_e164",
                "pk_opt_outs",
                "uq_inbound_messages_message_sid",
                "ix_issued_coupons_customer_id",
                "ix_deferred_codes_customer_id",
            ):
                assert index in plan
        else:
            parameters = {"phone": "+61491570001", "sid": "SM1", "slug": "spring"}
            parameters |= {"pseudonym": "p", "erased": "e"}
            plan = [
                row[-1] for row in connections.run("EXPLAIN QUERY PLAN " + _FACTS_SQL, parameters)
            ]
            # SQLite names the tables by their aliases; only the constant row may be scanned.
            scans = [step for step in plan if step.startswith("SCAN")]
            assert scans == ["SCAN CONSTANT ROW", "SCAN q"], plan
            searches = " ".join(step for step in plan if step.startswith("SEARCH"))
            assert "ix_deferred_codes_state_next" not in searches
            for index in ("ix_issued_coupons_customer_id", "ix_deferred_codes_customer_id"):
                assert index in searches
    finally:
        connections.close()
        engine.dispose()


def _generic_plan(connections: SetAsideConnections, sql: str) -> str:
    """The plan PostgreSQL keeps for the prepared statement on a set-aside connection (which
    plans once, for any values: plan_cache_mode = force_generic_plan)."""
    numbered = sql
    for number in range(1, sql.count("%s") + 1):
        numbered = numbered.replace("%s", f"${number}", 1)
    connections.run("PREPARE facts_plan AS " + numbered, None)
    explain = "EXPLAIN EXECUTE facts_plan('{+61491570001}', '{SM1}', '{spring}', '{p}', '{e}')"
    try:
        return "\n".join(row[0] for row in connections.run(explain, None))
    finally:
        connections.run("DEALLOCATE facts_plan", None)


def test_grouped_facts_match_one_by_one(database_url):
    """Texts read together get exactly what each would have read alone."""
    engine = build_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO customers (phone_e164, customer_id, first_name, updated_at) "
            "VALUES ('+61491570001', 'C1', 'Alex', CURRENT_TIMESTAMP)"
        )
        connection.exec_driver_sql(
            "INSERT INTO issued_coupons (campaign_slug, identifier, customer_id, code, "
            "issued_at, warm) VALUES ('spring', 'C1:34', 'C1', 'T1-AAA', CURRENT_TIMESTAMP, "
            "false)"
        )
    connections = SetAsideConnections(engine, cap=4)
    reader = FactReader(connections, engine.dialect.name == "postgresql", leaders=1)
    keys = [
        ("+61491570001", f"SM{n}", "spring", "pseudonym-1", "erased-1")
        if n % 2
        else ("+61491570099", f"SM{n}", "spring", "pseudonym-2", "erased-2")
        for n in range(40)
    ]
    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            together = list(pool.map(lambda key: reader.facts(*key), keys))
        alone = [reader.facts(*key) for key in keys]
    finally:
        connections.close()
        engine.dispose()
    assert together == alone
    known = together[1]
    assert (known.customer_id, known.first_name, known.any_code, known.owed_here) == (
        "C1",
        "Alex",
        True,
        False,
    )
    assert known.codes["C1:34"].code == "T1-AAA"
    stranger = together[0]
    assert (stranger.customer_id, stranger.codes, stranger.any_code) == (None, {}, False)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_plans_the_grouped_read_once_per_connection(database_url):
    """Planning the grouped read cost PostgreSQL more than running it (585-830 us of CPU per
    text against 70 us, bench scenario 4): the set-aside connections keep one generic plan.
    (PostgreSQL only: SQLite has no round trip, and reads one text at a time.)"""
    engine = build_engine(database_url)
    connections = SetAsideConnections(engine, cap=1)
    reader = FactReader(connections, postgres=True)
    try:
        for n in range(12):  # psycopg prepares a statement on its 5th run
            reader.facts("+61491570001", f"SM{n}", "spring", "p", "e")
        sql = "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
        (generic, custom), *_ = connections.run(sql + " WHERE statement LIKE '%unnest%'", None)
        assert custom == 0
        assert generic >= 1
    finally:
        connections.close()
        engine.dispose()
