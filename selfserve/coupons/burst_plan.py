"""What a burst of texts would do to the Talon.One budget: `campaigns plan` does the sums.

The arithmetic of the design, with its assumptions said out loud: texts arrive evenly over
the burst; every customer with a code ready (warmed, or asked for before) texts once and is
answered inline with no Talon.One call; every other text needs one call, answered inline
while the budget lasts and owed ("we'll text your code") beyond it; the worker pays the owed
codes at the budget's pace once the burst is over (during the burst the budget is spent
inline already).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BurstPlan:
    """The forecast for `expected` texts in `minutes` at `calls_per_minute`."""

    expected: int
    minutes: float
    calls_per_minute: float
    ready: int  # texts answered from a code already stored (no call)
    inline_new: int  # texts answered inline with a Talon.One call
    deferred: int  # texts answered "we'll text your code", the code following by SMS
    drain_minutes: float  # how long the worker takes to text the deferred codes afterwards
    cold: int  # directory customers without a code yet
    warm_per_minute: float  # a warm-up's pace at its share of the budget
    warm_minutes: float  # how long a warm-up started now needs for every cold customer
    warmed_by_until: int | None  # how many a warm-up started now warms by --until

    @property
    def inline(self) -> int:
        """Every text answered with its code in the reply."""
        return self.ready + self.inline_new


def plan_burst(
    *,
    expected: int,
    minutes: float,
    calls_per_minute: float,
    ready: int,
    directory: int,
    share: float,
    minutes_until: float | None = None,
) -> BurstPlan:
    """Forecast a burst; `ready` codes stored for `directory` customers, warm-up at `share`."""
    answered_from_store = min(ready, expected)
    needing_a_call = expected - answered_from_store
    inline_new = min(needing_a_call, math.floor(calls_per_minute * minutes))
    deferred = needing_a_call - inline_new
    cold = max(directory - ready, 0)
    warm_per_minute = calls_per_minute * share
    warmed_by_until = None
    if minutes_until is not None:
        warmed_by_until = min(cold, math.floor(warm_per_minute * max(minutes_until, 0.0)))
    return BurstPlan(
        expected=expected,
        minutes=minutes,
        calls_per_minute=calls_per_minute,
        ready=answered_from_store,
        inline_new=inline_new,
        deferred=deferred,
        drain_minutes=deferred / calls_per_minute,
        cold=cold,
        warm_per_minute=warm_per_minute,
        warm_minutes=cold / warm_per_minute if warm_per_minute else math.inf,
        warmed_by_until=warmed_by_until,
    )
