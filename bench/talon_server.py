"""Serve the Talon.One stand-in (tests/stand_ins/talon.py) as its own process, slowed down.

    python -m bench.talon_server --port 8421 --delay 0.3

It answers every call after `--delay` seconds, like a Talon.One deployment far away. Served
by gunicorn (gthread, one process, 256 threads) with HTTP/1.1 keep-alive, like Talon.One:
the app's client reuses its connections, and 128 calls in flight all wait together rather
than in turn. (Werkzeug's development server closes every connection, so each call paid a
TCP handshake and a new server thread: that measured the stand-in, not the app.)
"""

from __future__ import annotations

import argparse
from typing import Any

from gunicorn.app.base import BaseApplication

from tests.stand_ins.talon import TalonStandIn


class StandInServer(BaseApplication):  # type: ignore[misc]
    """gunicorn's documented custom-application hook, serving one stand-in object."""

    def __init__(self, application: Any, options: dict[str, Any]) -> None:
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.application


def main() -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds before each answer")
    arguments = parser.parse_args()
    stand_in = TalonStandIn()
    stand_in.delay_seconds = arguments.delay
    print(f"talon stand-in on 127.0.0.1:{arguments.port}, {arguments.delay}s away", flush=True)
    StandInServer(
        stand_in,
        {
            "bind": f"127.0.0.1:{arguments.port}",
            "workers": 1,  # one process: the stand-in's codes and counters live in memory
            "worker_class": "gthread",
            "threads": 256,
            "keepalive": 75,
            "backlog": 2048,
            "loglevel": "warning",
            "control_socket_disable": True,
        },
    ).run()


if __name__ == "__main__":
    main()
