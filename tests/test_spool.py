"""The spool (ops/spool.py) and the webhook's spooled answers (texts/spooled.py).

The durable part is checked against real processes: a spool file held by a live process is
never taken, and is taken once that process is SIGKILLed. The webhook part runs the whole app:
a text arriving while the database gate is shut is answered SPOOLED_REPLY, held on disk, and
answered by outbound text exactly once when the drainer runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from selfserve.customers import is_opted_out
from selfserve.ops import Spool
from tests.conftest import (
    SPRING_CAMPAIGNS,
    import_campaigns_text,
    inbound_form,
    post_signed,
    reply_text,
    send_text,
    wait_for,
)

FRENCH = """
[[campaign]]
slug = "ete"
name = "Soldes d'ete"
keywords = ["ETE"]
language = "fr"
action = "coupon"
application_id = 12
campaign_id = 57
"""


def codes_in(text: str) -> list[str]:
    return [word.strip("().,<>/") for word in text.split() if word.startswith("T1-")]


def test_records_come_back_oldest_first_and_leave_once_finished(tmp_path):
    spool, other = Spool(tmp_path / "spool"), Spool(tmp_path / "spool")  # two processes' files
    spool.append({"sid": "b", "at": 2.0})
    other.append({"sid": "a", "at": 1.0})
    spool.append({"sid": "c", "at": 3.0})
    assert spool.depth() == (3, 1.0)
    spool.rotate()
    first = spool.take()
    assert [record["sid"] for record in first.records] == ["b", "c"]  # the other's is held
    # ... and its "a" is older: "b" and "c" wait for it (a STOP there may precede them).
    assert first.ready() == ([], first.records)
    first.release()
    other.rotate()
    taken = spool.take()
    assert [record["sid"] for record in taken.records] == ["a", "b", "c"]
    assert taken.ready() == (taken.records, [])
    assert spool.take() is None  # one drainer at a time on a host (this one still holds it)
    taken.finish([taken.records[2]])  # "c" could not be answered yet
    assert spool.depth() == (1, 3.0)
    again = spool.take()
    assert [record["sid"] for record in again.records] == ["c"]
    again.finish([])
    assert spool.is_empty()
    assert spool.depth() == (0, None)


HOLDER = textwrap.dedent(
    """
    import sys, time
    from selfserve.ops import Spool
    spool = Spool(sys.argv[1])
    for n in range(3):
        spool.append({"sid": f"SM{n}", "at": time.time()})
    print("spooled", flush=True)
    time.sleep(60)
    """
)


def test_a_live_process_keeps_its_file_and_a_killed_one_hands_it_over(tmp_path):
    folder = tmp_path / "spool"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "spooled"
        spool = Spool(folder)
        assert spool.depth()[0] == 3
        taken = spool.take()
        assert taken.records == []  # its lock is held: the process may still append
        taken.release()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        taken = spool.take()
        assert sorted(record["sid"] for record in taken.records) == ["SM0", "SM1", "SM2"]
        taken.finish([])
        assert spool.is_empty()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        holder.stdout.close()


def test_texts_while_the_gate_is_shut_are_spooled_then_answered_once(app, twilio_stand_in):
    import_campaigns_text(app, SPRING_CAMPAIGNS + FRENCH)
    services = app.extensions["selfserve"]
    client = app.test_client()
    send_text(client, "SPRING", sender="+61491570301")  # the campaign book is loaded
    services.inbound.gate.trip()  # as the first database failure does
    spring = send_text(client, "SPRING", sender="+61491570302")
    ete = send_text(client, "ETE", sender="+61491570303")
    assert spring.status_code == ete.status_code == 200
    assert reply_text(spring) == "Got it! We'll text you back in a moment."
    assert reply_text(ete) == "C'est noté ! Nous vous répondons par SMS dans un instant."
    stop = send_text(client, "STOP", sender="+61491570305")
    assert reply_text(stop) is None  # no "we'll text you back" to a STOP
    forged = post_signed(client, inbound_form("SPRING"), token="not-the-token")
    assert forged.status_code == 403
    assert services.spool.depth()[0] == 3  # the forged one never reached the spool

    def answered() -> bool:
        services.drainer.drain_once()
        return services.spool.is_empty() and not services.inbound.gate.spooling

    wait_for(answered, what="the spool drained")
    for number in ("+61491570302", "+61491570303"):
        wait_for(lambda n=number: twilio_stand_in.messages_to(n), what="the late reply")
        [texted] = twilio_stand_in.messages_to(number)
        assert len(codes_in(texted.body)) == 1
    services.drainer.drain_once()
    time.sleep(0.2)
    assert len(twilio_stand_in.messages) == 2  # nothing texted twice, nothing after the STOP
    with services.sessions() as db:
        assert is_opted_out(db, "+61491570305", services.settings.identity_secret)
    live = send_text(client, "SPRING", sender="+61491570304")
    assert codes_in(reply_text(live))  # the gate is open again: answered at once
