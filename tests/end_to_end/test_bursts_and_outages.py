"""A burst of three times the Talon.One budget, from many senders at once, over real HTTP.

The app runs on a real port with its worker; Talon.One's stand-in enforces its own moving-window
budget (the same size as ours) and answers 429 past it. Every customer must be answered 200
quickly, Talon.One must never answer 429, and every customer must get exactly one code, inline
or by SMS, from exactly one coupon at Talon.One.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest
from flask import Flask

from app import create_app
from selfserve.queue import WorkerThreads
from tests import queue_support
from tests.conftest import (
    SPRING_CAMPAIGNS,
    import_campaigns_text,
    inbound_form,
    signature_for,
    wait_for,
)
from tests.stand_ins.server import ServedApp

BUDGET = 8
WINDOW_SECONDS = 2.0
WEBHOOK = "/webhooks/twilio/sms"


# Each backend once (SQLite + embedded, PostgreSQL + Redis), not all four pairs.
combo = queue_support.combo
database_url = queue_support.database_url
queue_settings = queue_support.queue_settings


@pytest.fixture
def burst_app(queue_settings):
    settings = replace(
        queue_settings,
        talon_rate_limit_per_minute=BUDGET,
        talon_rate_window_seconds=WINDOW_SECONDS,
    )
    application: Flask = create_app(settings)
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    services = application.extensions["selfserve"]
    served = ServedApp(application)
    running = WorkerThreads(services.jobs, 4, settings.worker_lease_seconds).start()
    yield served
    running.stop()
    served.stop()
    services.close()


def codes_in(text: str) -> list[str]:
    return [word.strip("().,<>/") for word in text.split() if word.startswith("T1-")]


def test_a_burst_of_three_times_the_budget_is_served_without_a_single_429(
    burst_app, talon_stand_in, twilio_stand_in
):
    talon_stand_in.budget_per_minute = BUDGET  # Talon.One's own limit, over the same window
    talon_stand_in.window_seconds = WINDOW_SECONDS
    customers = [f"+6149158{n:04d}" for n in range(3 * BUDGET)]

    def text_in(number: str) -> tuple[str, int, float, str]:
        form = inbound_form("SPRING", sender=number)
        headers = {"X-Twilio-Signature": signature_for(WEBHOOK, form)}
        started = time.monotonic()
        answer = httpx.post(burst_app.url + WEBHOOK, data=form, headers=headers, timeout=15)
        return number, answer.status_code, time.monotonic() - started, answer.text

    with ThreadPoolExecutor(max_workers=len(customers)) as senders:
        answers = list(senders.map(text_in, customers))

    assert [status for _, status, _, _ in answers] == [200] * len(customers)
    # Quickly: well inside Twilio's 15 s. The < 3 s p99 target is measured by bench/ on a quiet
    # machine; a test on a shared 2-core CI box only proves nobody waits on Talon.One.
    slowest = max(seconds for _, _, seconds, _ in answers)
    assert slowest < 8.0
    inline = {number: codes_in(body) for number, _, _, body in answers}
    answered_inline = [number for number, codes in inline.items() if codes]
    assert 0 < len(answered_inline) <= BUDGET

    def everyone_has_a_code() -> bool:
        return all(inline[n] or twilio_stand_in.messages_to(n) for n in customers)

    wait_for(everyone_has_a_code, timeout_seconds=45, what="a code for every customer")
    time.sleep(1.0)  # a duplicate SMS, if one were coming, would arrive now
    assert talon_stand_in.rate_limited_answers == 0
    assert len(talon_stand_in.coupons) == len(customers)  # one coupon per customer
    by_code = {coupon["Value"] for coupon in talon_stand_in.coupons.values()}
    for number in customers:
        texted = [code for m in twilio_stand_in.messages_to(number) for code in codes_in(m.body)]
        got = inline[number] + texted
        assert len(got) == 1, (number, got)  # exactly one code: inline or by SMS
        assert got[0] in by_code
    assert len({c for n in customers for c in inline[n]}) == len(answered_inline)
