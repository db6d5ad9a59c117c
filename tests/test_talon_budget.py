"""The Talon.One budget: never more than N calls in any window, shared by every process."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from selfserve.errors import TalonRateLimited, TalonUnavailable
from selfserve.talon import MARGIN_SECONDS, CouponRequest, RedisBudget, SqliteBudget, TalonClient
from tests.conftest import QUEUE_BACKENDS, TEST_REDIS_URL
from tests.stand_ins.talon import API_KEY, DEPLOYMENT_HOST

REQUEST = CouponRequest(12, 34, "sms-spring", "CUST-1:34")


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def sqlite_budget(tmp_path: Path, clock: FakeClock, limit: int = 5, window: float = 10.0):
    return SqliteBudget(tmp_path / "budget.db", limit, window, clock=clock)


def test_no_more_than_the_limit_is_spent_in_one_window(tmp_path, clock):
    budget = sqlite_budget(tmp_path, clock)
    assert [budget.try_spend() for _ in range(7)] == [True] * 5 + [False] * 2
    assert budget.spent_in_window() == 5


def test_a_call_comes_back_one_window_and_the_margin_after_it_was_spent(tmp_path, clock):
    budget = sqlite_budget(tmp_path, clock, limit=2)
    assert budget.try_spend()
    clock.now += 4
    assert budget.try_spend()
    assert not budget.try_spend()
    assert budget.seconds_until_free() == pytest.approx(10 + MARGIN_SECONDS - 4)
    clock.now += 10 + MARGIN_SECONDS - 4 - 0.01
    assert not budget.try_spend()  # not a clock minute: the window moves with each call
    clock.now += 0.02
    assert budget.try_spend()
    assert not budget.try_spend()


def test_no_window_anywhere_on_the_timeline_holds_more_than_the_limit(tmp_path, clock):
    limit, window = 7, 10.0
    budget = sqlite_budget(tmp_path, clock, limit, window)
    spent: list[float] = []
    randomness = random.Random(5)
    for _ in range(600):
        clock.now += randomness.expovariate(2.0)  # bursts and lulls, ~2 attempts a second
        if budget.try_spend():
            spent.append(clock.now)
    assert len(spent) > 3 * limit
    for index in range(len(spent) - limit):
        assert spent[index + limit] - spent[index] >= window  # any limit+1 calls span ≥ window


def test_a_budget_file_from_before_the_tally_keeps_its_count(tmp_path, clock):
    # Older versions counted `spent` on every call; the tally starts from what is there.
    import sqlite3

    old = sqlite3.connect(tmp_path / "budget.db")
    old.execute("CREATE TABLE spent (at REAL NOT NULL)")
    old.executemany("INSERT INTO spent (at) VALUES (?)", [(clock.now - 1,)] * 4)
    old.commit()
    old.close()
    budget = sqlite_budget(tmp_path, clock, limit=5)
    assert [budget.try_spend() for _ in range(3)] == [True, False, False]
    clock.now += 10 + MARGIN_SECONDS  # the four old calls and the new one leave the window
    assert [budget.try_spend() for _ in range(6)] == [True] * 5 + [False]
    assert sqlite_budget(tmp_path, clock, limit=5).spent_in_window() == 5


def test_a_hold_stops_spending_until_it_has_passed(tmp_path, clock):
    budget = sqlite_budget(tmp_path, clock)
    budget.hold(3)
    assert not budget.try_spend()
    assert budget.seconds_until_free() == pytest.approx(3)
    budget.hold(1)  # a shorter hold does not cut a longer one short
    clock.now += 2
    assert not budget.try_spend()
    clock.now += 1.01
    assert budget.try_spend()


def test_calls_from_before_a_reboot_do_not_block_the_budget(tmp_path, clock):
    budget = sqlite_budget(tmp_path, clock, limit=1)
    assert budget.try_spend()
    clock.now = 3.0  # CLOCK_MONOTONIC starts again near 0 after a reboot
    assert budget.try_spend()


def test_every_process_on_the_host_shares_one_budget(tmp_path):
    """Three processes race for a budget of 150: exactly 150 calls are allowed between them."""
    start_at = time.time() + 3.0  # all three start spending at the same moment
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from selfserve.talon.budget import SqliteBudget
        budget = SqliteBudget(Path({str(tmp_path / "shared.db")!r}), 150, 600)
        time.sleep(max({start_at} - time.time(), 0))
        spent = 0
        for _ in range(150):
            spent += budget.try_spend()
            time.sleep(0.002)  # spread out, so the three really overlap
        sys.stdout.write(str(spent))
        """
    )
    root = Path(__file__).resolve().parent.parent
    processes = [
        subprocess.Popen([sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    spent = [int(process.communicate(timeout=60)[0]) for process in processes]
    assert sum(spent) == 150
    assert sorted(spent)[1] > 0  # at least two processes got some: they really raced


@pytest.mark.parametrize("backend", QUEUE_BACKENDS)
def test_each_store_keeps_the_same_contract(backend, tmp_path):
    if backend == "redis":
        import redis

        with redis.Redis.from_url(TEST_REDIS_URL) as connection:
            connection.flushdb()
        budget = RedisBudget(TEST_REDIS_URL, 3, 2.0)
    else:
        budget = SqliteBudget(tmp_path / "budget.db", 3, 2.0)
    try:
        assert [budget.try_spend() for _ in range(4)] == [True, True, True, False]
        assert budget.spent_in_window() == 3
        wait = budget.seconds_until_free()
        assert 1.0 < wait <= 2.0 + MARGIN_SECONDS + 1.0
        time.sleep(wait + 0.05)  # the real clock: the window must free itself
        assert budget.try_spend()
        budget.hold(1.0)
        assert not budget.try_spend()
    finally:
        budget.close()


def test_the_client_spends_before_calling_and_refuses_when_spent(tmp_path, clock, talon_stand_in):
    budget = sqlite_budget(tmp_path, clock, limit=1)
    client = TalonClient(
        talon_stand_in.url, API_KEY, DEPLOYMENT_HOST, "selfserve", False, httpx.Client(), budget
    )
    client.coupon(REQUEST)
    with pytest.raises(TalonRateLimited) as raised:
        client.coupon(REQUEST)
    assert raised.value.own_budget
    assert raised.value.retry_after_seconds == pytest.approx(10 + MARGIN_SECONDS)
    assert len(talon_stand_in.coupon_requests()) == 1  # the refused call never left


def test_a_429_retry_after_holds_every_caller(tmp_path, clock, talon_stand_in):
    budget = sqlite_budget(tmp_path, clock, limit=100)
    client = TalonClient(
        talon_stand_in.url, API_KEY, DEPLOYMENT_HOST, "selfserve", False, httpx.Client(), budget
    )
    talon_stand_in.answer_next(
        429,
        {"StatusCode": 429, "Error": "Too many requests", "RequestUUID": "u"},
        headers={"Retry-After": "30"},
    )
    with pytest.raises(TalonRateLimited) as first:
        client.coupon(REQUEST)
    assert not first.value.own_budget
    assert first.value.retry_after_seconds == 30
    with pytest.raises(TalonRateLimited):
        client.coupon(REQUEST)
    assert len(talon_stand_in.coupon_requests()) == 1
    clock.now += 30.1
    assert client.coupon(REQUEST).code


def test_the_inline_client_gives_up_sooner_than_the_workers(talon_stand_in):
    client = TalonClient(
        talon_stand_in.url, API_KEY, DEPLOYMENT_HOST, "selfserve", False, httpx.Client(timeout=5)
    )
    inline = client.with_timeout(0.3)
    talon_stand_in.delay_seconds = 0.8
    started = time.monotonic()
    with pytest.raises(TalonUnavailable):  # timed out
        inline.coupon(REQUEST)
    assert time.monotonic() - started < 0.7
    assert client.coupon(REQUEST).code  # the full timeout waits it out
