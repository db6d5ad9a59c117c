"""Processes dying and Redis restarting around the spool, as production runs them.

- The whole gunicorn (master and workers) SIGKILLed right after spooling texts: the next
  server on the host drains what the dead one left, once the database is back.
- Redis restarted mid-burst (queue, Talon.One budget): nothing is lost; every number ends
  with exactly one code, the worker delivering what the webhook owed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import wait_for
from tests.test_outage_database import (  # noqa: F401 - migrated_cluster: a fixture
    Outage,
    codes_in,
    each_has_one_code,
    migrated_cluster,
)
from tests.test_scale_out import ROOT, Server

pytestmark = [pytest.mark.needs_postgresql, pytest.mark.needs_redis]
FLASK = ROOT / ".venv" / "bin" / "flask"


@pytest.fixture
def database_url(tmp_path) -> str:
    """Replaced by the throwaway cluster's URL: these tests run once, not per backend."""
    return f"sqlite:///{tmp_path / 'unused.db'}"


@pytest.fixture
def outage(settings, tmp_path, request):
    running = Outage(settings, tmp_path, request.getfixturevalue("migrated_cluster"))
    yield running
    running.close()


def test_a_server_killed_with_texts_in_its_spool_has_them_answered_after_a_restart(
    outage, tmp_path, twilio_stand_in
):
    numbers = [f"+6149155{n:04d}" for n in range(6)]
    outage.postgres.stop()
    answers = [outage.text("SPRING", number) for number in numbers]
    assert all(status == 200 and "text you back" in body for _, status, _, body in answers)
    os.killpg(outage.server.process.pid, signal.SIGKILL)  # no clean stop, no flush
    outage.server.process.wait(10)
    outage.server.stop()  # gone already: only closes its log
    outage.postgres.start()
    outage.server = Server(outage.env, tmp_path / "restarted.log")
    outage.server.wait_until_ready()

    def settled() -> bool:
        return all(each_has_one_code([], numbers, twilio_stand_in).values())

    wait_for(settled, timeout_seconds=60, what="the dead server's texts answered")
    wait_for(lambda: outage.spool_depth() == 0, what="the spool empty")
    got = each_has_one_code([], numbers, twilio_stand_in)
    assert {number: len(codes) for number, codes in got.items()} == dict.fromkeys(numbers, 1)


class Worker:
    """`flask --app app worker` beside the server, on the same settings."""

    def __init__(self, env: dict[str, str], log) -> None:
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [str(FLASK), "--app", "app", "worker", "--threads", "2"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def test_redis_restarted_mid_burst_loses_no_text(outage, tmp_path, twilio_stand_in):
    worker = Worker(outage.env, tmp_path / "worker.log")
    numbers = [f"+6149154{n:04d}" for n in range(20)]
    try:
        with ThreadPoolExecutor(max_workers=6) as senders:
            answers = list(senders.map(lambda n: outage.text("SPRING", n), numbers[:7]))
            outage.redis.stop()
            answers += list(senders.map(lambda n: outage.text("SPRING", n), numbers[7:14]))
            outage.redis.start()
            answers += list(senders.map(lambda n: outage.text("SPRING", n), numbers[14:]))
        assert all(status == 200 for _, status, _, _ in answers)
        assert max(seconds for _, _, seconds, _ in answers) < 3.0

        def settled() -> bool:
            return all(each_has_one_code(answers, numbers, twilio_stand_in).values())

        wait_for(settled, timeout_seconds=60, what="every number's code, inline or texted")
        time.sleep(1.5)  # a second text, if one were coming, would arrive now
    finally:
        worker.stop()
    got = each_has_one_code(answers, numbers, twilio_stand_in)
    assert {number: len(codes) for number, codes in got.items()} == dict.fromkeys(numbers, 1)
    assert outage.spool_depth() == 0
    assert all(len(codes_in(body)) <= 1 for _, _, _, body in answers)
