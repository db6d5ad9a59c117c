"""The webhook through a PostgreSQL outage, as production runs it: gunicorn's gevent workers.

PostgreSQL is a cluster of this test's own (tests/outage_support.py), stopped or frozen while
numbers text. Every text must be answered 200 within 3 s; once the database is back, every
number holds exactly one code (in the reply, or texted by the spool's drainer), no number
two, a STOP spooled before a SPRING is honoured first, and the spool ends empty.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from app import create_app
from selfserve.customers import is_opted_out
from selfserve.ops import build_engine, migrate
from tests.conftest import SPRING_CAMPAIGNS, import_campaigns_text, inbound_form, wait_for
from tests.outage_support import ThrowawayPostgres, ThrowawayRedis
from tests.test_scale_out import WEBHOOK, Server, environment_for, signature_for

pytestmark = [pytest.mark.needs_postgresql, pytest.mark.needs_redis]


@pytest.fixture
def database_url(tmp_path) -> str:
    """Replaced by the throwaway cluster's URL: these tests run once, not per backend."""
    return f"sqlite:///{tmp_path / 'unused.db'}"


def codes_in(text: str) -> list[str]:
    return [word.strip("().,<>/") for word in text.split() if word.startswith("T1-")]


@pytest.fixture(scope="session")
def migrated_cluster() -> Iterator[Path]:
    """A stopped cluster migrated to head, copied by each test (initdb and migrating once)."""
    template = ThrowawayPostgres()
    template.start()
    engine = build_engine(template.url)
    migrate.upgrade(engine)
    engine.dispose()
    template.stop()
    yield template.data
    template.remove()


class Outage:
    """The app under gunicorn on a throwaway PostgreSQL and Redis; an app of the test's own
    (its own instance folder, so its drainer never touches the server's spool) to look."""

    def __init__(self, settings, tmp_path: Path, cluster: Path) -> None:
        self.postgres = ThrowawayPostgres(template=cluster)
        self.postgres.start()
        self.redis = ThrowawayRedis(tmp_path)
        self.redis.start()
        self.settings = replace(
            settings,
            database_url=self.postgres.url,
            redis_url=self.redis.url,
            instance_path=str(tmp_path / "server-instance"),
        )
        self.looking = create_app(replace(self.settings, instance_path=str(tmp_path / "look")))
        import_campaigns_text(self.looking, SPRING_CAMPAIGNS)
        env = {**environment_for(self.settings), "REDIS_URL": self.redis.url}
        self.env = {**env, "WEB_CONCURRENCY": "2", "LANDING_CHALLENGE": "off"}
        self.server = Server(self.env, tmp_path / "server.log")
        self.server.wait_until_ready()

    def text(self, body: str, number: str) -> tuple[str, int, float, str]:
        form = inbound_form(body, sender=number)
        headers = {"X-Twilio-Signature": signature_for(WEBHOOK, form)}
        started = time.monotonic()
        answer = httpx.post(self.server.url + WEBHOOK, data=form, headers=headers, timeout=15)
        return number, answer.status_code, time.monotonic() - started, answer.text

    def spool_depth(self) -> int:
        return httpx.get(self.server.url + "/readyz", timeout=10).json()["spool_depth"]

    def close(self) -> None:
        self.server.stop()
        self.looking.extensions["selfserve"].close()
        self.postgres.remove()
        self.redis.stop()


@pytest.fixture
def outage(settings, tmp_path, migrated_cluster):
    running = Outage(settings, tmp_path, migrated_cluster)
    yield running
    running.close()


def each_has_one_code(answers, numbers, twilio_stand_in) -> dict[str, list[str]]:
    """Codes per number: in its replies and in the texts the app sent it."""
    got: dict[str, list[str]] = {number: [] for number in numbers}
    for number, _status, _seconds, body in answers:
        got[number] += codes_in(body)
    for number in numbers:
        got[number] += [c for m in twilio_stand_in.messages_to(number) for c in codes_in(m.body)]
    return got


def test_postgresql_stopped_during_a_burst_loses_no_text_and_answers_each_once(
    outage, talon_stand_in, twilio_stand_in
):
    numbers = [f"+6149157{n:04d}" for n in range(24)]
    stopper = "+61491579999"
    answers = [outage.text("SPRING", numbers[0])]  # the database answers: a code inline
    assert codes_in(answers[0][3])
    with ThreadPoolExecutor(max_workers=12) as senders:
        first = list(senders.map(lambda n: outage.text("SPRING", n), numbers[1:8]))
        outage.postgres.stop()
        during = list(senders.map(lambda n: outage.text("SPRING", n), numbers[8:20]))
        stop_then_spring = [outage.text("STOP", stopper), outage.text("SPRING", stopper)]
        assert outage.spool_depth() >= 14
        outage.postgres.start()
        after = list(senders.map(lambda n: outage.text("SPRING", n), numbers[20:]))
    answers += first + during + after
    assert all(status == 200 for _, status, _, _ in answers + stop_then_spring)
    assert max(seconds for _, _, seconds, _ in answers + stop_then_spring) < 3.0
    assert all("text you back" in body for _, _, _, body in during)

    def settled() -> bool:
        got = each_has_one_code(answers, numbers, twilio_stand_in)
        return all(got.values()) and outage.spool_depth() == 0

    wait_for(settled, timeout_seconds=60, what="every number answered, the spool empty")
    time.sleep(1.5)  # a second text, if one were coming, would arrive now
    got = each_has_one_code(answers, numbers, twilio_stand_in)
    assert {number: len(codes) for number, codes in got.items()} == dict.fromkeys(numbers, 1)
    assert len(talon_stand_in.coupons) == len(numbers)  # no code asked of Talon.One twice
    # The STOP spooled first is honoured first: the SPRING after it gets no code.
    assert not [m for m in twilio_stand_in.messages_to(stopper) if codes_in(m.body)]
    services = outage.looking.extensions["selfserve"]
    with services.sessions() as db:
        assert is_opted_out(db, stopper, outage.settings.identity_secret)


def test_postgresql_frozen_still_gets_every_text_answered_in_time(
    outage, talon_stand_in, twilio_stand_in
):
    numbers = [f"+6149156{n:04d}" for n in range(10)]
    answers = [outage.text("SPRING", numbers[0])]
    outage.postgres.freeze()
    try:
        with ThreadPoolExecutor(max_workers=9) as senders:
            answers += list(senders.map(lambda n: outage.text("SPRING", n), numbers[1:]))
    finally:
        outage.postgres.thaw()
    assert all(status == 200 for _, status, _, _ in answers)
    assert max(seconds for _, _, seconds, _ in answers) < 5.0  # a frozen server: 5 s at most

    def settled() -> bool:
        got = each_has_one_code(answers, numbers, twilio_stand_in)
        return all(got.values()) and outage.spool_depth() == 0

    wait_for(settled, timeout_seconds=60, what="every number answered, the spool empty")
    time.sleep(1.5)
    got = each_has_one_code(answers, numbers, twilio_stand_in)
    assert {number: len(codes) for number, codes in got.items()} == dict.fromkeys(numbers, 1)


def test_pages_during_the_outage_are_a_503_with_retry_after_keeping_what_was_typed(outage):
    visitor = httpx.Client(base_url=outage.server.url, timeout=10)
    page = visitor.get("/q/spring")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    # The session cookie is Secure (PUBLIC_BASE_URL is https): send it by hand over http.
    cookie = {"Cookie": page.headers["set-cookie"].split(";", 1)[0]}
    login = visitor.get("/admin/login", headers=cookie)
    login_token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
    outage.postgres.stop()
    try:
        again = visitor.get("/q/spring")
        typed = visitor.post(
            "/q/spring", data={"csrf_token": token, "phone": "0491 570 156"}, headers=cookie
        )
        console = visitor.post(
            "/admin/login",
            data={"csrf_token": login_token, "email": "a@example.com", "password": "x" * 12},
            headers=cookie,
        )
    finally:
        outage.postgres.start()
        visitor.close()
    for answer in (again, typed, console):
        assert answer.status_code == 503
        assert int(answer.headers["Retry-After"]) > 0
        assert "Traceback" not in answer.text
    assert '<html lang="en">' in again.text
    assert 'value="0491 570 156"' in typed.text  # the form keeps what was typed
    assert f'value="{token}"' in typed.text  # and can be sent again as it is
