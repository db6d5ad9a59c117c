"""The journeys' jobs on the task queue: birthday texts, the daily birthday tick, loyalty points.

- `send_birthday(campaign, customer, day)`: one customer's birthday coupon. A job that cannot
  finish now (Talon.One busy or down, our Talon.One budget spent, the recipient's quiet hours)
  enqueues itself again for when it can; the `birthday_sends` row says what is owed, so a job
  lost with a killed worker is found by the next tick.
- `birthday_tick`, a periodic task every minute in the worker's scheduler: runs each birthday
  campaign once a day at its `send_at` local time, and re-enqueues lost birthday jobs.
- `award_loyalty_points(campaign, customer, attempt)`: a campaign's `award_points` for a
  customer taking part, off the webhook's path; surely-failed calls are retried with backoff.

Jobs carry slugs, ids and ISO dates only, and open their own transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from huey import Huey, crontab

from selfserve.journeys.birthdays import Birthdays
from selfserve.journeys.loyalty import RETRY
from selfserve.sms.outbox import backoff_seconds

log = logging.getLogger(__name__)

AWARD_ATTEMPTS = 8  # after these, a still-failing award waits for the customer's next text


class JourneyJobs:
    """Registers the journeys' tasks on the app's Huey and enqueues them."""

    def __init__(
        self, huey: Huey, retry_base_seconds: float = 2.0, retry_max_seconds: float = 120.0
    ) -> None:
        self.huey = huey
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        self._birthdays: Callable[[], Birthdays] | None = None
        self._award: Callable[[str, str], str | None] | None = None
        self._send_birthday = huey.task(name="send_birthday")(self._run_send_birthday)
        self._award_points = huey.task(name="award_loyalty_points")(self._run_award)
        self.birthday_tick = huey.periodic_task(crontab(minute="*"), name="birthday_tick")(
            self._run_tick
        )

    def bind(
        self, birthdays: Callable[[], Birthdays], award: Callable[[str, str], str | None]
    ) -> None:
        """Give the jobs what they run: a Birthdays factory (fresh clock each run) and
        award(campaign_slug, customer_id) -> the award's state."""
        self._birthdays = birthdays
        self._award = award

    def enqueue_birthday(
        self,
        campaign_slug: str,
        customer_id: str,
        day_iso: str,
        delay_seconds: float | None = None,
    ) -> None:
        """Queue one customer's birthday text (after `delay_seconds`, if given)."""
        if delay_seconds:
            self._send_birthday.schedule(
                args=(campaign_slug, customer_id, day_iso), delay=delay_seconds
            )
        else:
            self._send_birthday(campaign_slug, customer_id, day_iso)

    def enqueue_award(
        self,
        campaign_slug: str,
        customer_id: str,
        attempt: int = 0,
        delay_seconds: float | None = None,
    ) -> None:
        """Queue a loyalty award for a customer who took part."""
        if delay_seconds:
            self._award_points.schedule(
                args=(campaign_slug, customer_id, attempt), delay=delay_seconds
            )
        else:
            self._award_points(campaign_slug, customer_id, attempt)

    def tick(self) -> int:
        """Run the birthday campaigns that are due and re-enqueue lost jobs; returns runs."""
        return len(self._bound_birthdays()().run_due())

    def _run_tick(self) -> None:
        self.tick()

    def _run_send_birthday(self, campaign_slug: str, customer_id: str, day_iso: str) -> None:
        again_in = self._bound_birthdays()().deliver_owed(campaign_slug, customer_id, day_iso)
        if again_in is not None:
            self.enqueue_birthday(campaign_slug, customer_id, day_iso, max(again_in, 0.05))

    def _run_award(self, campaign_slug: str, customer_id: str, attempt: int) -> None:
        if self._award is None:
            raise RuntimeError("JourneyJobs.bind() was not called")
        state = self._award(campaign_slug, customer_id)
        if state == RETRY and attempt + 1 < AWARD_ATTEMPTS:
            delay = backoff_seconds(attempt + 1, self._retry_base, self._retry_max)
            self.enqueue_award(campaign_slug, customer_id, attempt + 1, delay)

    def _bound_birthdays(self) -> Callable[[], Birthdays]:
        if self._birthdays is None:
            raise RuntimeError("JourneyJobs.bind() was not called")
        return self._birthdays
