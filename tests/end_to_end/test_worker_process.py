"""`flask --app app worker` as its own process: killed with SIGKILL mid-queue, then restarted.

The web side runs in this process, the worker in another, sharing the database, the queue and
the budget exactly as `make run` (embedded) or a scale-out deployment (Redis) shares them.
Nothing may be lost and nothing sent twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

import pytest
from sqlalchemy import select

from selfserve.models import DeferredCode, OutboundMessage
from selfserve.ops import Settings
from tests import queue_support
from tests.conftest import reply_text, send_text, wait_for

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).parent / "flask")
DEFERRED_REPLY = "You're in! We'll text your code in a few minutes."


def environment_for(settings: Settings) -> dict[str, str]:
    """The environment variables that give a new process exactly these settings."""
    prefixes = ("TWILIO_", "TALON_", "DATABASE_", "REDIS_", "WORKER_", "INSTANCE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    for spec in fields(Settings):
        value = getattr(settings, spec.name)
        env[spec.name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


class WorkerProcess:
    """`flask --app app worker` in its own process group, its output kept in a file."""

    def __init__(self, env: dict[str, str], log_path: Path, threads: int = 1) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [FLASK, "--app", "app", "worker", "--threads", str(threads)],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye, exactly like the OOM killer or a pulled plug."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL) if it is still running."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


# Each backend once (SQLite + embedded, PostgreSQL + Redis), not all four pairs.
combo = queue_support.combo
database_url = queue_support.database_url
queue_settings = queue_support.queue_settings


@pytest.fixture
def start_worker(queue_app, tmp_path):
    env = environment_for(queue_app.extensions["selfserve"].settings)
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / "worker.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def test_a_worker_killed_mid_queue_and_restarted_loses_nothing_and_repeats_nothing(
    queue_app, start_worker, talon_stand_in, twilio_stand_in
):
    services = queue_app.extensions["selfserve"]
    client = queue_app.test_client()
    customers = [f"+6149159{n:04d}" for n in range(6)]
    talon_stand_in.down = True
    for number in customers:
        assert reply_text(send_text(client, "SPRING", sender=number)) == DEFERRED_REPLY
    talon_stand_in.down = False
    talon_stand_in.delay_seconds = 0.4  # each code takes a while: the kill lands mid-job

    first = start_worker()
    wait_for(lambda: len(twilio_stand_in.messages) >= 2, 60, "the first worker to send some")
    asked = len(talon_stand_in.coupon_requests())
    wait_for(lambda: len(talon_stand_in.coupon_requests()) > asked, 10, "a job mid-call")
    first.kill()  # while a job waits on Talon.One, with more still queued
    sent_by_first = len(twilio_stand_in.messages)
    assert sent_by_first < len(customers), first.log_path.read_text()

    second = start_worker()
    wait_for(
        lambda: all(twilio_stand_in.messages_to(n) for n in customers),
        60,
        "every customer's code from the restarted worker",
    )
    lease = services.settings.worker_lease_seconds
    time.sleep(lease + 1.5)  # past another lease and sweep: nothing more may follow
    for number in customers:
        assert len(twilio_stand_in.messages_to(number)) == 1, number
    assert len(talon_stand_in.coupons) == len(customers)
    with services.sessions() as db:
        states = db.scalars(select(DeferredCode.state)).all()
        statuses = db.scalars(select(OutboundMessage.status)).all()
    assert states == ["sms_queued"] * len(customers)
    assert statuses == ["queued"] * len(customers)
    second.stop()  # SIGTERM: a clean stop
    assert second.process.returncode == 0, second.log_path.read_text()
