"""Keep-alive connections to Talon.One, handed out one per call.

httpx keeps its connections in httpcore's pool, and on every request httpcore walks the whole
pool and asks each idle connection whether it has expired: a poll(2) per connection, under the
pool's lock. With 32 calls in flight per process (a stadium of new customers, each call 300 ms
away) that walk cost more CPU than the call itself: profiled under bench scenario 2, 10 % of a
worker's GIL time went to `_assign_requests_to_connections` and `is_socket_readable`, and a new
customer's text cost 5.5 ms of CPU under load against 2 ms alone (bench/README.md).

`OneConnectionTransports` keeps many httpx transports instead, each with at most one
keep-alive connection. A call takes an idle transport (LIFO, so the warmest connection),
sends an `httpx.Request` through it and gives it back: a call checks one connection, not all
of them. The request goes to the transport itself (`handle_request`, the interface httpx's
own Client sends through), not through an `httpx.Client`: the Client's layers for what these
calls never use (cookie jars, auth, redirects, event hooks, merging a base URL) were a quarter
of the client's CPU per call in the same profile. Timeouts, errors, keep-alive expiry and
reconnection are still httpx's own.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import httpx

USER_AGENT = f"selfserve python-httpx/{httpx.__version__}"


class HttpRequests(Protocol):
    """What the Talon.One client needs of its HTTP client: an httpx.Client, or the below."""

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        """Make one request and read its answer."""
        ...  # pragma: no cover - a protocol

    def close(self) -> None:
        """Release the connections."""
        ...  # pragma: no cover - a protocol


class OneConnectionTransports:
    """httpx.Client's `request` (URL, params, JSON, headers, timeout; the answer read before
    return), each call on an httpx transport of its own holding one connection."""

    def __init__(self, timeout: httpx.Timeout, keep_idle: int = 256) -> None:
        self._timeout = timeout
        # One TLS context for all (making one reads the CA bundle: milliseconds each).
        self._tls = httpx.create_ssl_context()
        self._keep_idle = keep_idle
        self._idle: list[httpx.HTTPTransport] = []
        self._lock = threading.Lock()
        self._closed = False

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        """One request, as `httpx.Client.request` makes it; raises httpx's exceptions."""
        if timeout is httpx.USE_CLIENT_DEFAULT:
            timeout = self._timeout
        request = httpx.Request(
            method,
            url,
            params=params,
            json=json,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            extensions={"timeout": httpx.Timeout(timeout).as_dict()},
        )
        transport = self._take()
        try:
            response = transport.handle_request(request)
            response.request = request
            try:
                response.read()
            finally:
                response.close()
        except BaseException:
            transport.close()  # its connection may be half-used: never hand it out again
            raise
        self._give_back(transport)
        return response

    def close(self) -> None:
        """Close every idle transport; those still in a call are closed when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for transport in idle:
            transport.close()

    @property
    def idle(self) -> int:
        """Transports waiting for a call (each with at most one open connection)."""
        return len(self._idle)

    def _take(self) -> httpx.HTTPTransport:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        # HTTP/1.1 over one keep-alive connection, never retrying on its own.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        return httpx.HTTPTransport(verify=self._tls, limits=limits, retries=0)

    def _give_back(self, transport: httpx.HTTPTransport) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._keep_idle:
                self._idle.append(transport)
                return
        transport.close()
