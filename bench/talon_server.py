"""Serve the Talon.One stand-in (tests/stand_ins/talon.py) as its own process, slowed down.

    python -m bench.talon_server --port 8421 --delay 0.3

It answers every call after `--delay` seconds, like a Talon.One deployment far away. A
threaded server: every connection gets its own thread, so 128 calls in flight all wait
together rather than in turn.
"""

from __future__ import annotations

import argparse
import contextlib
import logging

from werkzeug.serving import ThreadedWSGIServer, make_server

from tests.stand_ins.talon import TalonStandIn


def main() -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds before each answer")
    arguments = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    stand_in = TalonStandIn()
    stand_in.delay_seconds = arguments.delay
    ThreadedWSGIServer.request_queue_size = 1024  # the listen backlog, read when it binds
    server = make_server("127.0.0.1", arguments.port, stand_in, threaded=True)
    print(f"talon stand-in on 127.0.0.1:{arguments.port}, {arguments.delay}s away", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
