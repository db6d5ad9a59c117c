"""Throwaway servers for fault tests: a PostgreSQL cluster and a redis-server of their own.

Fault tests stop, freeze and restart these; the shared test services (TEST_DATABASE_URL,
TEST_REDIS_URL) are never touched, since other tests run against them at the same moment.
PostgreSQL runs as the `postgres` user (it refuses root) from a cluster `initdb` makes in a
temporary folder, on a free port, with trust authentication on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.stand_ins.server import free_port


def _postgres_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    pytest.fail(f"{name} is needed for this fault test (PostgreSQL's server binaries)")


def _as_postgres() -> dict[str, object]:
    """Run a child as the `postgres` user when we are root (PostgreSQL refuses root)."""
    return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}


class ThrowawayPostgres:
    """A PostgreSQL cluster of this test's own: stop, start, freeze and thaw it at will."""

    def __init__(self, template: Path | None = None) -> None:
        """A fresh cluster: `initdb`, or a copy of `template` (a stopped cluster's data
        folder, e.g. one already migrated: copying it is seconds faster than both)."""
        # Not under pytest's tmp_path: its folders are private to root, and the server
        # runs as postgres.
        folder = Path(tempfile.mkdtemp(prefix="selfserve-pg-"))
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        if template is not None:
            shutil.copytree(template, self.data)
            if os.geteuid() == 0:
                subprocess.run(["chown", "-R", "postgres:postgres", str(self.data)], check=True)
            return
        subprocess.run(
            [_postgres_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
            **_as_postgres(),  # type: ignore[arg-type]
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._log = (self.folder / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [
                _postgres_bin("postgres"),
                "-D", str(self.data),
                "-p", str(self.port),
                "-k", str(self.folder),
                "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off",
                "-c", "max_connections=200",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **_as_postgres(),  # type: ignore[arg-type]
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.url.replace("+psycopg", ""), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                assert self.process.poll() is None, (self.folder / "postgres.log").read_text()
                assert time.monotonic() < deadline, "PostgreSQL did not start"
                time.sleep(0.1)

    def stop(self) -> None:
        """Fast shutdown (SIGINT): connections are cut, as in a restart or a failover."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen server cannot stop
            self.process.send_signal(signal.SIGINT)
            self.process.wait(30)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def remove(self) -> None:
        """Stop the server and delete its cluster."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def freeze(self) -> None:
        """SIGSTOP the whole server (postmaster and backends): it accepts, never answers."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT what `freeze` stopped."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGCONT)


class ThrowawayRedis:
    """A redis-server of this test's own, without persistence: restart it at will."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait for PING."""
        import redis

        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                client.close()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop it (SIGTERM) and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)
        self.process = None
