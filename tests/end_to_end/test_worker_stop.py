"""SIGTERM (`docker stop`, systemd, a deploy) stops `flask --app app worker` within 10 s, and
a job in flight finishes first instead of being cut off mid-call."""

from __future__ import annotations

import os
import signal
import time

from sqlalchemy import select

from selfserve.models import DeferredCode
from tests import queue_support
from tests.conftest import reply_text, send_text, wait_for
from tests.end_to_end.test_worker_process import DEFERRED_REPLY, WorkerProcess, environment_for

combo = queue_support.combo
database_url = queue_support.database_url
queue_settings = queue_support.queue_settings


def test_sigterm_lets_the_job_in_flight_finish_then_stops_within_10_seconds(
    queue_app, tmp_path, talon_stand_in, twilio_stand_in
):
    services = queue_app.extensions["selfserve"]
    talon_stand_in.down = True
    sent = send_text(queue_app.test_client(), "SPRING", sender="+61491570341")
    assert reply_text(sent) == DEFERRED_REPLY
    talon_stand_in.down = False
    talon_stand_in.delay_seconds = 1.5  # the job waits on Talon.One when the signal lands
    asked = len(talon_stand_in.coupon_requests())  # the webhook's own try
    worker = WorkerProcess(environment_for(services.settings), tmp_path / "worker.log")
    try:
        wait_for(
            lambda: len(talon_stand_in.coupon_requests()) > asked, 30, "the job to call Talon.One"
        )
        os.killpg(worker.process.pid, signal.SIGTERM)
        signalled = time.monotonic()
        worker.process.wait(timeout=10)
        stopped_after = time.monotonic() - signalled
    finally:
        worker.stop()
    log = worker.log_path.read_text()
    assert worker.process.returncode == 0, log
    assert stopped_after < 10, log
    with services.sessions() as db:
        assert db.scalars(select(DeferredCode.state)).all() == ["sms_queued"], log
    assert twilio_stand_in.messages_to("+61491570341"), log
