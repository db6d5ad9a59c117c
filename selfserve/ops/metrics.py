"""Operational metrics in Prometheus' text format: what operators alert on.

Counters and the latency histogram live in prometheus-client. Under gunicorn,
gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before any worker starts, so every worker
writes its values to small memory-mapped files there and /metrics adds them up; without it
(`flask run`, tests) they live in this process. Values that describe shared state — the
Talon.One budget, the queue — are read from that state when /metrics is scraped, never kept
per process, so every worker and host reports the same figure.

Recording costs a few microseconds (a dictionary lookup and a locked add); label children are
cached so the webhook's hot path never builds one. The webhook's own count does not even take
that lock: it goes through `PendingCounts`, added to its counter once a second.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import Counter as Tally
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
Item = TypeVar("Item")

WEBHOOK_ANSWERS = Counter(
    "selfserve_webhook_answers",
    "Inbound texts answered, by outcome (code_issued, code_resent, deferred, help, ...)",
    ["outcome"],
)
TALON_CALLS = Counter(
    "selfserve_talon_calls",
    "Talon.One calls by endpoint and HTTP status (0: no answer: timeout or connection error)",
    ["endpoint", "status"],
)
TALON_SECONDS = Histogram(
    "selfserve_talon_call_seconds",
    "How long Talon.One calls took, answered or not",
    ["endpoint"],
    buckets=(0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 3.0, 5.0, 10.0),
)
OUTBOUND_SMS = Counter(
    "selfserve_outbound_sms",
    "Texts we sent ourselves (not TwiML replies), by result: accepted, opted_out, failed",
    ["status"],
)
WHATSAPP_OUTBOUND = Counter(
    "selfserve_whatsapp_outbound",
    "WhatsApp messages we sent ourselves, by how: free_form, template, sms_fallback, dropped",
    ["result"],
)
SMS_DELIVERY = Counter(
    "selfserve_sms_delivery_status",
    "Twilio delivery status callbacks received, by status",
    ["status"],
)
WEBHOOK_RESPONSES = Counter(
    "selfserve_webhook_responses",
    "Inbound-text webhook responses, by HTTP status (5xx: the text went unanswered)",
    ["status"],
)
WEBHOOK_SECONDS = Histogram(
    "selfserve_webhook_seconds",
    "How long the inbound-text webhook took to answer (Twilio waits 15 s at most)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 15.0),
)
SMS_PUMPING_BLOCKS = Counter(
    "selfserve_sms_pumping_blocks",
    "Number ranges blocked for one-time codes (SMS pumping suspected)",
)


def observe_pumping_block() -> None:
    """Count one number range blocked for SMS pumping."""
    SMS_PUMPING_BLOCKS.inc()


_talon_children: dict[tuple[str, int], tuple[Any, Any]] = {}


class Pending(Generic[Item]):
    """Observations gathered without a lock and handed to `record` once a second.

    prometheus-client's multiprocess values take one process-wide lock for every increment.
    Each webhook thread counting its answer queued on it (a thread holding it lost the GIL,
    the rest waited): side by side, returning customers were answered 12 % faster with no
    count at all. Here an observation is an append to a deque (atomic, no lock); a daemon
    thread hands them to `record` every `interval` seconds, and again at exit and before a
    scrape, so /metrics lags the texts by at most that long.
    """

    def __init__(self, record: Callable[[list[Item]], None], interval: float = 1.0) -> None:
        self._record = record
        self._interval = interval
        self._pending: deque[Item] = deque()
        self._adding = threading.Lock()  # one flush at a time (the thread, a scrape, exit)
        self._pid = 0

    def add(self, item: Item) -> None:
        """Keep one observation."""
        self._pending.append(item)
        if self._pid != os.getpid():  # first one in this process (gunicorn forks workers)
            self._start()

    def flush(self) -> None:
        """Record everything observed so far."""
        with self._adding:
            items: list[Item] = []
            while self._pending:
                items.append(self._pending.popleft())
            if items:
                self._record(items)

    def _start(self) -> None:
        with self._adding:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
        threading.Thread(target=self._run, name="metrics-counts", daemon=True).start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            time.sleep(self._interval)
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - counting must never stop; try again next time
                log.exception("metrics_flush_failed")


class PendingCounts(Pending[str]):
    """Counts for one labelled Counter (the label of each), added once a second."""

    def __init__(self, counter: Counter, interval: float = 1.0) -> None:
        super().__init__(self._add_up, interval)
        self._counter = counter
        self._children: dict[str, Any] = {}

    def _add_up(self, labels: list[str]) -> None:
        for label, amount in Tally(labels).items():
            child = self._children.get(label)
            if child is None:
                child = self._children[label] = self._counter.labels(label)
            child.inc(amount)


class WebhookTimings(Pending[tuple[int, float]]):
    """The inbound-text webhook's (HTTP status, seconds) pairs, recorded once a second."""

    def __init__(self, interval: float = 1.0) -> None:
        super().__init__(self._add_up, interval)
        self._children: dict[int, Any] = {}

    def _add_up(self, timings: list[tuple[int, float]]) -> None:
        for status, amount in Tally(status for status, _ in timings).items():
            child = self._children.get(status)
            if child is None:
                child = self._children[status] = WEBHOOK_RESPONSES.labels(str(status))
            child.inc(amount)
        for _, seconds in timings:
            WEBHOOK_SECONDS.observe(seconds)


_answers = PendingCounts(WEBHOOK_ANSWERS)
_webhook_timings = WebhookTimings()


def count_answer(outcome: str) -> None:
    """One inbound text answered with `outcome`."""
    _answers.add(outcome)


def observe_webhook(status: int, seconds: float) -> None:
    """The inbound-text webhook answered with HTTP `status` after `seconds`."""
    _webhook_timings.add((status, seconds))


def flush() -> None:
    """Add the counts gathered so far (before a scrape; when a worker stops)."""
    _answers.flush()
    _webhook_timings.flush()


class _Call(Protocol):
    """One Talon.One call as the client reports it (selfserve.talon.TalonCall)."""

    endpoint: str
    status: int
    seconds: float


def observe_talon_call(call: _Call) -> None:
    """TalonClient's `observe` callback: count the call and time it."""
    key = (call.endpoint, call.status)
    children = _talon_children.get(key)
    if children is None:
        endpoint = call.endpoint.rsplit("/", 1)[-1] or call.endpoint
        children = _talon_children.setdefault(
            key,
            (TALON_CALLS.labels(endpoint, str(call.status)), TALON_SECONDS.labels(endpoint)),
        )
    counter, histogram = children
    counter.inc()
    histogram.observe(call.seconds)


def count_delivery_status(status: str) -> None:
    """A Twilio delivery status callback arrived."""
    SMS_DELIVERY.labels(status[:32]).inc()


@dataclass(frozen=True)
class SharedGauge:
    """A gauge read from shared state at scrape time: `read` returns its value (None: skip)."""

    name: str
    documentation: str
    read: Callable[[], float | None]


class SharedStateCollector(Collector):
    """Collects SharedGauges when /metrics is scraped; a failing read is logged and skipped."""

    def __init__(self, gauges: Iterable[SharedGauge]) -> None:
        self._gauges = list(gauges)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """One gauge family per readable value."""
        for gauge in self._gauges:
            try:
                value = gauge.read()
            except Exception as error:  # noqa: BLE001 - a scrape must not fail on one value
                log.warning("metric_unreadable", extra={"metric": gauge.name, "error": str(error)})
                continue
            if value is not None:
                yield GaugeMetricFamily(gauge.name, gauge.documentation, value=value)


def multiprocess_dir() -> str | None:
    """The folder gunicorn's workers share their values through, when there is one."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return folder if folder and os.path.isdir(folder) else None


def render(shared: Iterable[SharedGauge] = ()) -> tuple[bytes, str]:
    """The whole /metrics page and its content type."""
    flush()  # this process's own counts; other workers add theirs within a second
    folder = multiprocess_dir()
    if folder is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    gauges = list(shared)
    if gauges:
        state = CollectorRegistry()
        state.register(SharedStateCollector(gauges))
        body += generate_latest(state)
    return body, CONTENT_TYPE_LATEST
