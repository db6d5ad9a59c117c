"""Serve a WSGI app from a thread on a free port of 127.0.0.1, as a real HTTP server."""

from __future__ import annotations

import itertools
import os
import random
import socket
import threading
from collections.abc import Iterator
from typing import Any

from werkzeug.serving import make_server


class ServedApp:
    """A WSGI app listening on 127.0.0.1:<free port> until `stop()`."""

    def __init__(self, app: Any) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()


class DroppingServer:
    """Accepts connections, reads the request, then closes without answering."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.connections = 0
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self._running:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.recv(65536)
            connection.close()

    def stop(self) -> None:
        """Stop accepting."""
        self._running = False
        self._socket.close()


# ServedApp and DroppingServer bind port 0: the kernel picks a port nobody holds, atomically.
# free_port() can only probe: its port is bound later (gunicorn, `flask run`) or never (for
# "connection refused"). Under pytest-xdist another worker's port-0 bind could take that port in
# between, so each worker picks from its own slice of ports below Linux's ephemeral range
# (32768-60999), which port-0 binds and outgoing connections never use: gw0 10000-10999, gw1
# 11000-11999, … gw15 25000-25999 (gw16 shares gw0's, and so on).
FREE_PORTS_START = 10_000
FREE_PORTS_PER_WORKER = 1_000
FREE_PORT_SLICES = 16
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_slice_ports: Iterator[int] | None = None


def _worker_slice(worker: str) -> Iterator[int]:
    """The worker's ports round and round, from a random one (concurrent runs start apart)."""
    first = FREE_PORTS_START + int(worker.removeprefix("gw")) % FREE_PORT_SLICES * (
        FREE_PORTS_PER_WORKER
    )
    start = random.randrange(FREE_PORTS_PER_WORKER)
    ports = [first + (start + n) % FREE_PORTS_PER_WORKER for n in range(FREE_PORTS_PER_WORKER)]
    return itertools.cycle(ports)


def free_port() -> int:
    """A port nobody listens on right now (for 'connection refused' tests and subprocesses)."""
    global _slice_ports
    if not _XDIST_WORKER:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]
    if _slice_ports is None:
        _slice_ports = _worker_slice(_XDIST_WORKER)
    for _ in range(FREE_PORTS_PER_WORKER):
        port = next(_slice_ports)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:  # in use, or still in TIME_WAIT
                continue
            return port
    raise RuntimeError(f"no free port in xdist worker {_XDIST_WORKER}'s slice")
