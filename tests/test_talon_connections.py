"""The Talon.One client's connections (selfserve/talon/connections.py), over real sockets."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from selfserve.talon import OneConnectionTransports

TIMEOUT = httpx.Timeout(2.0)


class KeepAliveServer(ThreadingHTTPServer):
    """HTTP/1.1 with keep-alive, like Talon.One: counts connections and records requests."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.connections = 0
        self.requests: list[dict[str, object]] = []
        self.delay = 0.0
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
        self.connections += 1
        super().process_request(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: KeepAliveServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append(
            {"line": f"{self.command} {self.path}", "headers": dict(self.headers), "body": body}
        )
        time.sleep(self.server.delay)
        payload = json.dumps({"Value": "CODE-1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._answer()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self._answer()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[KeepAliveServer]:
    served = KeepAliveServer()
    thread = threading.Thread(target=served.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield served
    served.shutdown()
    served.server_close()
    thread.join()


def test_calls_one_after_another_reuse_one_connection(server):
    http = OneConnectionTransports(TIMEOUT)
    for _ in range(3):
        assert http.request("GET", server.url + "/c").json() == {"Value": "CODE-1"}
    assert server.connections == 1
    assert http.idle == 1
    http.close()


def test_calls_in_flight_together_each_have_their_own_connection(server):
    http = OneConnectionTransports(TIMEOUT)
    server.delay = 0.3
    answers: list[int] = []
    calls = [
        threading.Thread(target=lambda: answers.append(http.request("GET", server.url).status_code))
        for _ in range(3)
    ]
    for call in calls:
        call.start()
    for call in calls:
        call.join()
    assert answers == [200, 200, 200]
    assert server.connections == 3
    assert http.idle == 3
    http.close()
    assert http.idle == 0


def test_the_request_is_the_one_asked_for(server):
    http = OneConnectionTransports(TIMEOUT)
    http.request(
        "POST",
        server.url + "/customer_engagement/add_loyalty_points",
        params={"a": 1, "b": "x y"},
        json={"points": 5},
        headers={"Authorization": "ApiKey-v1 k"},
    )
    seen = server.requests[0]
    assert seen["line"] == "POST /customer_engagement/add_loyalty_points?a=1&b=x+y"
    headers = seen["headers"]
    assert isinstance(headers, dict)
    assert headers["Authorization"] == "ApiKey-v1 k"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("selfserve python-httpx/")
    assert json.loads(seen["body"]) == {"points": 5}  # type: ignore[arg-type]
    http.close()


def test_a_timed_out_call_gives_up_its_connection(server):
    http = OneConnectionTransports(TIMEOUT)
    http.request("GET", server.url)
    server.delay = 0.5
    with pytest.raises(httpx.ReadTimeout):
        http.request("GET", server.url, timeout=httpx.Timeout(0.1))
    assert http.idle == 0  # its connection still has the late answer coming: not reused
    server.delay = 0
    assert http.request("GET", server.url).json() == {"Value": "CODE-1"}
    assert server.connections == 2
    http.close()
