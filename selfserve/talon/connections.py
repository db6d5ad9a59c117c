"""Keep-alive connections to Talon.One, handed out one per call.

httpx keeps its connections in httpcore's pool, and on every request httpcore walks the whole
pool and asks each idle connection whether it has expired: a poll(2) per connection, under the
pool's lock. With 32 calls in flight per process (a stadium of new customers, each call 300 ms
away) that walk cost more CPU than the call itself: profiled under bench scenario 2, 10 % of a
worker's GIL time went to `_assign_requests_to_connections` and `is_socket_readable`, and a new
customer's text cost 5.5 ms of CPU under load against 2 ms alone (bench/README.md).

`OneConnectionClients` keeps many small httpx clients instead, each with at most one
keep-alive connection. A call takes an idle client (LIFO, so the warmest connection), makes
its request through httpx as usual, and gives the client back: a call checks one connection,
not all of them. Timeouts, errors, keep-alive expiry and reconnection are httpx's own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

import httpx


class HttpRequests(Protocol):
    """What the Talon.One client needs of its HTTP client: an httpx.Client, or the below."""

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        """Make one request and read its answer."""
        ...  # pragma: no cover - a protocol

    def close(self) -> None:
        """Release the connections."""
        ...  # pragma: no cover - a protocol


class OneConnectionClients:
    """httpx.Client's `request`, each call on a client of its own holding one connection."""

    def __init__(
        self,
        make_client: Callable[[], httpx.Client],
        keep_idle: int = 256,
    ) -> None:
        self._make = make_client
        self._keep_idle = keep_idle
        self._idle: list[httpx.Client] = []
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def over_http(cls, timeout: httpx.Timeout, keep_idle: int = 256) -> OneConnectionClients:
        """Clients of one HTTP/1.1 keep-alive connection each, never retrying on their own."""
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        return cls(
            lambda: httpx.Client(
                timeout=timeout, transport=httpx.HTTPTransport(limits=limits, retries=0)
            ),
            keep_idle,
        )

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        """One request, as `httpx.Client.request` makes it (the body is read before return)."""
        client = self._take()
        try:
            return client.request(method, url, **options)
        finally:
            self._give_back(client)

    def close(self) -> None:
        """Close every idle client; clients still in a call are closed when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for client in idle:
            client.close()

    @property
    def idle(self) -> int:
        """Clients waiting for a call (each with at most one open connection)."""
        return len(self._idle)

    def _take(self) -> httpx.Client:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._make()

    def _give_back(self, client: httpx.Client) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._keep_idle:
                self._idle.append(client)
                return
        client.close()
