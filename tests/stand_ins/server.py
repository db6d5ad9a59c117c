"""Serve a WSGI app from a thread on a free port of 127.0.0.1, as a real HTTP server."""

from __future__ import annotations

import socket
import threading
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


def free_port() -> int:
    """A port nobody listens on right now (for 'connection refused' tests)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
