"""Many reads of the same shape, asked at the same moment, answered by one statement.

A returning customer's text on PostgreSQL is one indexed read, and under a stadium's load
the round trip, not the read, is the cost: each statement wakes the server and the client
again, and the server runs its executor for one row. When texts arrive together, the ones
that find `leaders` groups already in flight wait for the next group, and whoever leads that
group asks for all of them in one statement (texts/facts.py: their parameters as arrays,
joined to the tables): the same answers, fewer round trips. At a quiet moment a read leads
at once and runs alone, as before.

Works with threads and with gevent's greenlets (which patch `threading`). Up to `leaders`
groups are in flight at once; a group holds at most `most` reads, the oldest waiting first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class _Ask:
    __slots__ = ("key", "result", "error", "leads", "ready")

    def __init__(self, key: Any) -> None:
        self.key = key
        self.result: Any = None
        self.error: BaseException | None = None
        self.leads = False
        self.ready = threading.Event()


class GroupedReads:
    """`read(key)` answers `run([key, ...])[i]` for its key, sharing a `run` with the reads
    that wait at the same moment. `run` must answer one result per key, in order."""

    def __init__(
        self, run: Callable[[Sequence[Any]], Sequence[Any]], *, leaders: int, most: int
    ) -> None:
        if leaders < 1 or most < 1:
            raise ValueError("leaders and most must be at least 1")
        self._run = run
        self._leaders_allowed = leaders
        self._most = most
        self._lock = threading.Lock()
        self._waiting: list[_Ask] = []
        self._leaders = 0

    def read(self, key: Any) -> Any:
        """The answer for `key` (raises what its group's `run` raised)."""
        ask = _Ask(key)
        with self._lock:
            if self._leaders < self._leaders_allowed:
                self._leaders += 1
                ask.leads = True
            else:
                self._waiting.append(ask)
        if not ask.leads:
            ask.ready.wait()  # answered by a group, or handed the lead of the next one
        if ask.leads:
            self._lead(ask)
        if ask.error is not None:
            raise ask.error
        return ask.result

    def _lead(self, own: _Ask) -> None:
        """Run one group (this read and the oldest waiting ones), then hand the lead on."""
        with self._lock:
            taken = self._most - 1
            group = [own, *self._waiting[:taken]]
            del self._waiting[:taken]
        try:
            results = self._run([ask.key for ask in group])
            if len(results) != len(group):
                raise RuntimeError(f"{len(results)} answers for {len(group)} reads")
            for ask, result in zip(group, results, strict=True):
                ask.result = result
        except BaseException as error:  # every read of the group hears why
            for ask in group:
                ask.error = error
        with self._lock:
            following = self._waiting.pop(0) if self._waiting else None
            if following is None:
                self._leaders -= 1
            else:
                following.leads = True  # taken out of the queue: nobody else answers it
        for ask in group[1:]:  # the first is this read's own
            ask.ready.set()
        if following is not None:
            following.ready.set()
