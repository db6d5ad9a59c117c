"""Several server processes sharing one database (and Redis when TEST_REDIS_URL is set).

The app runs as it does in production: `gunicorn -c gunicorn.conf.py "app:create_app()"`,
in separate processes on their own ports, against the test database (SQLite file, then
PostgreSQL when TEST_DATABASE_URL is set). Nothing is shared between them but the database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from selfserve.models import InboundMessage, IssuedCoupon
from selfserve.ops import Settings
from tests.conftest import TEST_REDIS_URL, inbound_form, signature_for, wait_for
from tests.stand_ins.server import free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
WEBHOOK = "/webhooks/twilio/sms"


def environment_for(settings: Settings) -> dict[str, str]:
    """The environment variables that give a server process these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TALON_", "TWILIO_"))}
    env.update(
        DATABASE_URL=settings.database_url,
        SECRET_KEY=settings.secret_key,
        PUBLIC_BASE_URL=settings.public_base_url,
        TWILIO_ACCOUNT_SID=settings.twilio_account_sid,
        TWILIO_AUTH_TOKEN=settings.twilio_auth_token,
        TWILIO_FROM_NUMBER=settings.twilio_from_number,
        TWILIO_API_BASE_URL=settings.twilio_api_base_url,
        TALON_CEP_URL=settings.talon_cep_url,
        TALON_API_KEY=settings.talon_api_key,
        TALON_DEPLOYMENT_HOST=settings.talon_deployment_host,
        TALON_PLATFORM_NAME=settings.talon_platform_name,
        TALON_TIMEOUT_SECONDS=str(settings.talon_timeout_seconds),
        IDENTITY_SECRET=settings.identity_secret,
        DEFAULT_REGION=settings.default_region,
        PROGRAM_NAME=settings.program_name,
        INSTANCE_PATH=settings.instance_path,
        REDIS_URL=TEST_REDIS_URL if settings.database_url.startswith("postgresql") else "",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="8",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


class Server:
    """One `gunicorn -c gunicorn.conf.py "app:create_app()"` on a free port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [str(GUNICORN), "-c", "gunicorn.conf.py", "app:create_app()"],
            cwd=ROOT,
            env={**env, "PORT": str(self.port)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_ready(self, deadline_seconds: float = 30) -> None:
        """Poll /readyz until 200 (the server process must not exit meanwhile)."""
        deadline = time.monotonic() + deadline_seconds
        while True:
            if self.process.poll() is not None:
                raise AssertionError("gunicorn exited:\n" + self.log_path.read_text()[-3000:])
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not become ready"
            time.sleep(0.1)

    def stop(self) -> None:
        """Graceful stop (SIGTERM), as a deploy does."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


@pytest.fixture
def two_servers(app, settings, tmp_path) -> Iterator[tuple[Server, Server]]:
    """Two independent gunicorn instances sharing the test database."""
    env = environment_for(settings)
    first, second = Server(env, tmp_path / "first.log"), Server(env, tmp_path / "second.log")
    try:
        first.wait_until_ready()
        second.wait_until_ready()
        yield first, second
    finally:
        first.stop()
        second.stop()


def deliver_at_once(deliveries: list[tuple[str, dict[str, str]]]) -> list[httpx.Response]:
    """POST every (server URL, form) at the same moment, signed as Twilio does."""
    answers: list[httpx.Response | None] = [None] * len(deliveries)
    start = threading.Barrier(len(deliveries))

    def deliver(index: int, url: str, form: dict[str, str]) -> None:
        headers = {"X-Twilio-Signature": signature_for(WEBHOOK, form)}
        start.wait()
        answers[index] = httpx.post(url + WEBHOOK, data=form, headers=headers, timeout=20)

    threads = [
        threading.Thread(target=deliver, args=(i, url, form))
        for i, (url, form) in enumerate(deliveries)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [answer for answer in answers if answer is not None]


def count(app, model, *where) -> int:
    with app.extensions["selfserve"].sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where))


def test_two_processes_racing_on_one_message_make_one_coupon(app, two_servers, talon_stand_in):
    first, second = two_servers
    talon_stand_in.delay_seconds = 0.3  # both deliveries arrive while Talon.One is thinking
    form = inbound_form("SPRING", sender="+61491570401")
    answers = deliver_at_once([(first.url, form), (second.url, form)] * 2)
    assert [answer.status_code for answer in answers] == [200] * 4
    assert len({answer.text for answer in answers}) == 1
    assert "Your Spring code: T1-" in answers[0].text
    assert len(talon_stand_in.coupon_requests()) == 1
    assert count(app, InboundMessage, InboundMessage.message_sid == form["MessageSid"]) == 1


def test_one_new_customer_texting_both_processes_gets_one_coupon(app, two_servers, talon_stand_in):
    first, second = two_servers
    talon_stand_in.delay_seconds = 0.3
    sender = "+61491570402"
    answers = deliver_at_once(
        [
            (first.url, inbound_form("SPRING", sender=sender)),
            (second.url, inbound_form("bloom", sender=sender)),
        ]
    )
    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].text == answers[1].text
    # Both processes may ask Talon.One (two different texts); the app's part is asking with
    # one identifier, so Talon.One holds one coupon, and storing it once (a UNIQUE insert).
    assert {r.args["identifier"] for r in talon_stand_in.coupon_requests()} == {
        next(iter(talon_stand_in.coupons))[2]
    }
    assert len(talon_stand_in.coupons) == 1
    assert count(app, IssuedCoupon) == 1


def test_a_stop_in_one_process_silences_the_other_at_once(app, two_servers, talon_stand_in):
    first, second = two_servers
    sender = "+61491570403"
    code_reply = deliver_at_once([(first.url, inbound_form("SPRING", sender=sender))])[0]
    assert "Your Spring code" in code_reply.text
    again = deliver_at_once([(second.url, inbound_form("SPRING", sender=sender))])[0]
    assert again.text == code_reply.text  # the returning customer, answered by the other one
    stop = deliver_at_once([(first.url, inbound_form("STOP", sender=sender))])[0]
    assert "<Message>" not in stop.text
    after = deliver_at_once([(second.url, inbound_form("SPRING", sender=sender))])[0]
    assert after.status_code == 200
    assert "<Message>" not in after.text


def test_metrics_add_up_over_workers_and_stop_keeps_every_log_row(app, settings, tmp_path):
    server = Server(environment_for(settings), tmp_path / "server.log")
    try:
        server.wait_until_ready()
        senders = [f"+614915705{n:02d}" for n in range(6)]
        forms = [inbound_form("SPRING", sender=s) for s in senders]
        forms += [inbound_form("bloom", sender=s) for s in senders * 3]  # returning customers
        for form in forms:
            headers = {"X-Twilio-Signature": signature_for(WEBHOOK, form)}
            answer = httpx.post(server.url + WEBHOOK, data=form, headers=headers, timeout=10)
            assert answer.status_code == 200

        def answers_counted() -> dict[str, float]:
            page = httpx.get(server.url + "/metrics", timeout=5).text
            return {
                s.labels["outcome"]: s.value
                for family in text_string_to_metric_families(page)
                for s in family.samples
                if s.name == "selfserve_webhook_answers_total"
            }

        # Each worker adds its webhook counts to /metrics once a second (PendingCounts).
        expected = {"code_issued": 6, "code_resent": 18}
        wait_for(lambda: answers_counted() == expected, 10, "both workers' counts on /metrics")
        assert answers_counted() == expected
    finally:
        server.stop()
    # Returning customers' rows are written in batches: a graceful stop writes them all.
    assert count(app, InboundMessage) == len(forms)


def test_two_processes_share_one_talon_budget(app, settings, tmp_path, talon_stand_in):
    env = {**environment_for(settings), "TALON_RATE_LIMIT_PER_MINUTE": "3"}
    if env["REDIS_URL"]:
        import redis

        with redis.Redis.from_url(env["REDIS_URL"]) as connection:
            connection.flushdb()  # the budget's window starts empty
    talon_stand_in.budget_per_minute = 3  # past it, Talon.One would answer 429
    first, second = Server(env, tmp_path / "first.log"), Server(env, tmp_path / "second.log")
    try:
        first.wait_until_ready()
        second.wait_until_ready()
        forms = [inbound_form("SPRING", sender=f"+614915707{n:02d}") for n in range(8)]
        answers = deliver_at_once(
            [(first.url if n % 2 else second.url, form) for n, form in enumerate(forms)]
        )
    finally:
        first.stop()
        second.stop()
    assert [answer.status_code for answer in answers] == [200] * 8
    with_code = [a for a in answers if "Your Spring code: T1-" in a.text]
    owed = [a for a in answers if "We'll text your code" in a.text]
    assert len(with_code) + len(owed) == 8
    assert 1 <= len(with_code) <= 3
    assert len(talon_stand_in.coupon_requests()) <= 3
    assert talon_stand_in.rate_limited_answers == 0
