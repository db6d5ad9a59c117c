"""The task queue: Huey, on SQLite (embedded) or Redis (REDIS_URL), and the jobs it runs.

Huey fits both modes with one API: `SqliteHuey` keeps the queue in a file in the instance
folder, so the default install needs no server; `RedisHuey` shares it across hosts. Jobs
carry ids and counters only, never ORM objects, and open their own transactions.

Huey removes a job from the queue when a worker takes it, so a worker killed mid-job loses
that copy. The database is therefore the record of what is owed (`deferred_codes`, the
outbox), and the queue only says "look at row N now": a sweeper in every worker re-enqueues
rows that are overdue, and a claim counter makes a duplicate copy harmless.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer

from selfserve.journeys import RETRY, Awards, Birthdays
from selfserve.ops import redis_pool
from selfserve.queue.deferred_codes import DeferredCodes
from selfserve.queue.heartbeat import WorkerHeartbeat
from selfserve.sms import Outbox, backoff_seconds

log = logging.getLogger(__name__)

QUEUE_NAME = "selfserve"
SHUTDOWN_SECONDS = 8.0  # within a container's 10 s stop timeout
AWARD_ATTEMPTS = 8  # after these, a still-failing award waits for the customer's next text


def build_huey(redis_url: str, queue_path: Path) -> Huey:
    """Huey on Redis when REDIS_URL is set, else on a SQLite file (the embedded mode)."""
    if redis_url:
        # Retries with backoff and health checks (ops/resilience.py): a Redis restart costs
        # a moment, not the enqueue.
        return RedisHuey(QUEUE_NAME, connection_pool=redis_pool(redis_url), results=False)
    queue_path.parent.mkdir(parents=True, exist_ok=True)
    # No fsync per enqueue: the database rows are the durable record and the sweeper re-enqueues
    # anything a power cut takes from the queue file, so the webhook need not wait on the disk.
    return SqliteHuey(QUEUE_NAME, filename=str(queue_path), results=False, timeout=10, fsync=False)


class Jobs:
    """The jobs selfserve queues, how to enqueue each one, and what each one runs.

    Jobs carry ids, slugs and ISO dates only and open their own transactions:
    - `deliver_deferred_code(id, attempt)`: a code owed by SMS (queue/deferred_codes.py);
    - `send_outbox_text(id, attempt)`: one outbox row (sms/outbox.py);
    - `send_birthday(campaign, customer, day)`: one customer's birthday coupon; a job that
      cannot finish now (Talon.One busy, the budget spent, quiet hours) enqueues itself again;
    - `birthday_tick`, every minute in the worker's scheduler: runs each birthday campaign once
      a day at its `send_at` local time, and re-enqueues lost birthday jobs;
    - `award_loyalty_points(campaign, customer, attempt)`: a campaign's `award_points`, off the
      webhook's path; surely-failed calls are retried with backoff;
    - `warm_up(campaign, share)`: one slice of a warm-up (coupons/warm_up.py), queued again
      until the campaign's directory customers all have their code;
    - `redemptions_tick`, every minute in the worker's scheduler: the redemption sync
      (coupons/redemptions.py), which reads Talon.One only every REDEMPTIONS_SYNC_MINUTES.
    """

    def __init__(
        self,
        huey: Huey,
        *,
        codes: DeferredCodes,
        outbox: Outbox,
        birthdays: Callable[[], Birthdays],
        awards: Awards,
        warm_up: Callable[[str, float], bool] | None = None,
        redemptions: Callable[[], object] | None = None,
        prune_audit: Callable[[], int] | None = None,
        retry_base_seconds: float = 2.0,
        retry_max_seconds: float = 120.0,
        reconcile: Callable[[], object] | None = None,
        reconcile_every_minutes: int = 10,
    ) -> None:
        self.huey = huey
        self.heartbeat = WorkerHeartbeat(huey)  # /metrics: is any worker consuming?
        self.heartbeat.listen()
        self._codes = codes
        self._outbox = outbox
        self._birthdays = birthdays  # a fresh Birthdays (and clock) for each run
        self._awards = awards
        self._warm_up = warm_up  # run one slice; True when more remains
        self._redemptions = redemptions  # sync when due; None: no Management key
        self._prune_audit = prune_audit  # AUDIT_RETENTION_DAYS, applied once a day
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        self._deliver_code = huey.task(name="deliver_deferred_code")(self._run_deliver_code)
        self._send_text = huey.task(name="send_outbox_text")(self._run_send_text)
        self._send_birthday = huey.task(name="send_birthday")(self._run_send_birthday)
        self._award_points = huey.task(name="award_loyalty_points")(self._run_award)
        self._warm_up_slice = huey.task(name="warm_up")(self._run_warm_up)
        self.birthday_tick = huey.periodic_task(crontab(minute="*"), name="birthday_tick")(
            self._run_tick
        )
        self._reconcile = reconcile
        if reconcile is not None:  # only with Twilio credentials (texts/reconcile.py)
            self.reconcile_texts = huey.periodic_task(
                _every(reconcile_every_minutes), name="reconcile_texts"
            )(self._run_reconcile)
        self.redemptions_tick = huey.periodic_task(crontab(minute="*"), name="redemptions_tick")(
            self._run_redemptions
        )
        self.audit_prune = huey.periodic_task(crontab(minute="17", hour="3"), name="audit_prune")(
            self.prune_audit
        )

    def enqueue_code(
        self, deferred_id: int, attempt: int, delay_seconds: float | None = None
    ) -> None:
        """Queue an attempt at an owed code (after `delay_seconds`, if given)."""
        _enqueue(self._deliver_code, (deferred_id, attempt), delay_seconds)

    def enqueue_text(
        self, outbound_id: int, attempt: int, delay_seconds: float | None = None
    ) -> None:
        """Queue a delivery attempt for an outbox row (after `delay_seconds`, if given)."""
        _enqueue(self._send_text, (outbound_id, attempt), delay_seconds)

    def enqueue_birthday(
        self,
        campaign_slug: str,
        customer_id: str,
        day_iso: str,
        delay_seconds: float | None = None,
    ) -> None:
        """Queue one customer's birthday text (after `delay_seconds`, if given)."""
        _enqueue(self._send_birthday, (campaign_slug, customer_id, day_iso), delay_seconds)

    def enqueue_award(
        self,
        campaign_slug: str,
        customer_id: str,
        attempt: int = 0,
        delay_seconds: float | None = None,
    ) -> None:
        """Queue a loyalty award for a customer who took part."""
        _enqueue(self._award_points, (campaign_slug, customer_id, attempt), delay_seconds)

    def enqueue_warm_up(self, campaign_slug: str, share: float) -> None:
        """Queue a warm-up of the campaign (the console's "start warm-up")."""
        _enqueue(self._warm_up_slice, (campaign_slug, share), None)

    def sweep(self) -> int:
        """Re-enqueue every overdue owed code and outbox row; returns how many."""
        codes = self._codes.overdue()
        texts = self._outbox.overdue()
        for deferred_id, attempt in codes:
            self.enqueue_code(deferred_id, attempt)
        for outbound_id, attempt in texts:
            self.enqueue_text(outbound_id, attempt)
        if codes or texts:
            log.warning("queue_swept", extra={"codes": len(codes), "texts": len(texts)})
        return len(codes) + len(texts)

    def tick(self) -> int:
        """Run the birthday campaigns that are due and re-enqueue lost jobs; returns runs."""
        return len(self._birthdays().run_due())

    def prune_audit(self) -> int:
        """Delete audit rows past their retention; returns how many (0 when not wired)."""
        return self._prune_audit() if self._prune_audit is not None else 0

    def _run_warm_up(self, campaign_slug: str, share: float) -> None:
        if self._warm_up is not None and self._warm_up(campaign_slug, share):
            self.enqueue_warm_up(campaign_slug, share)

    def _run_tick(self) -> None:
        self.tick()

    def _run_reconcile(self) -> None:
        if self._reconcile is not None:
            self._reconcile()

    def sync_redemptions(self) -> None:
        """Run the redemption sync if it is due (REDEMPTIONS_SYNC_MINUTES)."""
        if self._redemptions is not None:
            self._redemptions()  # Talon.One's trouble is logged and waits for the next turn

    def _run_redemptions(self) -> None:
        self.sync_redemptions()

    def _run_deliver_code(self, deferred_id: int, attempt: int) -> None:
        retry = self._codes.deliver(deferred_id, attempt)
        if retry is not None:
            self.enqueue_code(deferred_id, retry.attempt, retry.delay_seconds)

    def _run_send_text(self, outbound_id: int, attempt: int) -> None:
        retry = self._outbox.deliver(outbound_id, attempt)
        if retry is not None:
            self.enqueue_text(outbound_id, retry.attempt, retry.delay_seconds)

    def _run_send_birthday(self, campaign_slug: str, customer_id: str, day_iso: str) -> None:
        again_in = self._birthdays().deliver_owed(campaign_slug, customer_id, day_iso)
        if again_in is not None:
            self.enqueue_birthday(campaign_slug, customer_id, day_iso, max(again_in, 0.05))

    def _run_award(self, campaign_slug: str, customer_id: str, attempt: int) -> None:
        state = self._awards.award(campaign_slug, customer_id)
        if state == RETRY and attempt + 1 < AWARD_ATTEMPTS:
            delay = backoff_seconds(attempt + 1, self._retry_base, self._retry_max)
            self.enqueue_award(campaign_slug, customer_id, attempt + 1, delay)


def _every(minutes: int) -> Callable[..., bool]:
    """A crontab firing every `minutes` (whole hours past 59)."""
    if minutes < 60:
        return crontab(minute=f"*/{minutes}")
    return crontab(minute="0", hour=f"*/{max(1, minutes // 60)}")


def _enqueue(task: TaskWrapper, args: tuple[object, ...], delay_seconds: float | None) -> None:
    """Queue `task(*args)` now, or after `delay_seconds` when given."""
    if delay_seconds:
        task.schedule(args=args, delay=delay_seconds)
    else:
        task(*args)


class Sweeper:
    """Every few seconds, hand overdue rows back to the queue (a worker died, a job was lost).

    Huey's periodic tasks run once a minute at most; a restarted worker should pick up what a
    killed one left within seconds, so this is a plain timer thread inside the worker.
    """

    def __init__(self, sweep: Callable[[], int], interval_seconds: float) -> None:
        self._sweep = sweep
        self._interval = interval_seconds
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="selfserve-sweeper", daemon=True)

    def start(self) -> None:
        """Sweep now, then every interval until `stop()`."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sweeping (waits for a sweep in progress)."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._sweep()
            except Exception:  # a database blip must not end the sweeper
                log.exception("queue_sweep_failed")
            self._stopped.wait(self._interval)


def build_consumer(huey: Huey, threads: int) -> Consumer:
    """Huey's consumer with worker threads polling briskly (deferred codes should be prompt).

    Its scheduler runs the periodic tasks (the journeys' birthday tick, every minute; the
    audit trail's retention, daily at 03:17 UTC).
    SIGTERM (what `docker stop` and systemd send) stops it gracefully: no new job starts and
    a job in flight gets SHUTDOWN_SECONDS to finish (SIGINT stops at once). One still running
    then is safe to cut short: its database row is the record, and the sweeper hands it on.
    """
    return huey.create_consumer(
        graceful_signal="TERM",
        shutdown_timeout=SHUTDOWN_SECONDS,
        workers=threads,
        worker_type="thread",
        periodic=True,
        initial_delay=0.05,
        backoff=1.5,
        max_delay=0.5,
        scheduler_interval=1,
    )


class _EmbeddedConsumer(Consumer):
    """Huey's consumer without process-wide signal handlers: the host process keeps its own."""

    def _set_signal_handlers(self) -> None:
        return None


class WorkerThreads:
    """The consumer and sweeper on threads inside this process (tests, embedded tools)."""

    def __init__(self, jobs: Jobs, threads: int, lease_seconds: float) -> None:
        self._consumer = _EmbeddedConsumer(
            jobs.huey,
            workers=threads,
            worker_type="thread",
            periodic=False,
            initial_delay=0.05,
            backoff=1.5,
            max_delay=0.2,
            scheduler_interval=1,
            check_worker_health=False,
        )
        self._sweeper = Sweeper(jobs.sweep, sweep_interval(lease_seconds))

    def start(self) -> WorkerThreads:
        """Start consuming and sweeping; returns self."""
        self._consumer.start()
        self._sweeper.start()
        return self

    def stop(self) -> None:
        """Stop sweeping, let running jobs finish, stop consuming."""
        self._sweeper.stop()
        self._consumer.stop(graceful=True)


def sweep_interval(lease_seconds: float) -> float:
    """How often the sweeper looks: a third of the lease, between 1 and 10 seconds."""
    return max(1.0, min(lease_seconds / 3.0, 10.0))


def run_worker(jobs: Jobs, threads: int, lease_seconds: float) -> None:
    """Run the consumer and the sweeper until SIGINT/SIGTERM (`flask --app app worker`)."""
    sweeper = Sweeper(jobs.sweep, sweep_interval(lease_seconds))
    consumer = build_consumer(jobs.huey, threads)

    def stop_soon(signum: int, frame: object) -> None:
        # A signal that lands before Huey has installed its own handlers still stops cleanly.
        consumer.stop_flag.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop_soon)
    sweeper.start()
    log.info("worker_started", extra={"threads": threads})
    try:
        consumer.run()
    finally:
        sweeper.stop()
        log.info("worker_stopped")
