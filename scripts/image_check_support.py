"""What scripts/image-check and scripts/compose-check stand on: podman, HTTP, a throwaway
PostgreSQL cluster and redis-server of their own (never the shared test services)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class Failed(Exception):
    """A check did not pass; the message says which and what was seen."""


def check(condition: Any, message: str) -> None:
    """Raise Failed(message) unless `condition`."""
    if not condition:
        raise Failed(message)


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `podman args…`, output and errors together in .stdout."""
    result = subprocess.run(  # noqa: S603 - our own fixed command lines
        ["podman", *args],  # noqa: S607 - podman from PATH, as an operator runs it
        capture_output=True,
        text=True,
        check=False,
    )
    result.stdout += result.stderr
    if check and result.returncode != 0:
        raise Failed(f"podman {' '.join(args[:3])}… failed: {result.stdout[-2000:]}")
    return result


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    """(status, body); status 0 when nothing answered."""
    return http_post(url, None, {}, timeout)


def http_post(
    url: str, data: bytes | None, headers: dict, timeout: float = 15.0
) -> tuple[int, str]:
    """POST (or GET when `data` is None): (status, body); status 0 when nothing answered."""
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - http only
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def twilio_signature(token: str, url: str, form: dict[str, str]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL and each name+value, names sorted."""
    payload = url + "".join(name + form[name] for name in sorted(form))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def wait_until(condition: Callable[[], bool], seconds: float, what: str, container=None) -> None:
    """Poll `condition` until true, or fail naming `what` (with the container's log)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    log = container.log() if container is not None else ""
    raise Failed(f"waited {seconds:.0f} s for {what}\n{log[-3000:]}")


def layers_above_base(image: str, dockerfile: Path) -> int:
    """Bytes the image adds to its final stage's base (the last FROM of the Dockerfile)."""
    froms = [line.split()[1] for line in dockerfile.read_text().splitlines() if line[:5] == "FROM "]
    sizes = [
        int(podman("image", "inspect", "--format", "{{.Size}}", name).stdout.split()[0])
        for name in (image, froms[-1])
    ]
    return sizes[0] - sizes[1]


class Container:
    """A detached container on the host's network, removed when done."""

    def __init__(self, name: str) -> None:
        self.name = name

    @staticmethod
    def env_flags(env: dict[str, str]) -> list[str]:
        """`-e NAME=value` for each variable."""
        return [flag for name, value in env.items() for flag in ("-e", f"{name}={value}")]

    @classmethod
    @contextmanager
    def started(cls, image: str, env: dict[str, str], command: str) -> Iterator[Container]:
        """`podman run -d` the image with `command`; removed on leaving, however it ended."""
        name = f"selfserve-check-{command}-{os.getpid()}"
        podman("rm", "--force", name, check=False)
        podman(
            "run", "-d", "--name", name, "--network", "host", *cls.env_flags(env), image, command
        )
        try:
            yield cls(name)
        finally:
            podman("rm", "--force", "--time", "0", name, check=False)

    def log(self) -> str:
        """Everything it printed."""
        return podman("logs", self.name, check=False).stdout

    def stop(self, timeout_seconds: float) -> float:
        """`podman stop` (SIGTERM, SIGKILL after the timeout); seconds it took."""
        started = time.monotonic()
        podman("stop", "--time", str(int(timeout_seconds)), self.name)
        return time.monotonic() - started

    def exit_code(self) -> int:
        """The main process's exit code (137: it was killed)."""
        state = podman("inspect", "--format", "{{json .State}}", self.name).stdout
        return int(json.loads(state.splitlines()[0])["ExitCode"])


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(command)]


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary folder on a free port, with a `selfserve` database."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"postgresql+psycopg://selfserve:selfserve@127.0.0.1:{self.port}/selfserve"
        self._bin = _postgres_bin()

    def _run(self, *command: str) -> None:
        subprocess.run(_as_postgres(list(command)), check=True, capture_output=True)  # noqa: S603

    def create(self) -> None:
        """initdb, start, and make the role and database the app uses."""
        data = self.folder / "data"
        self._run(str(self._bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
        self.start()
        for statement in (
            "CREATE ROLE selfserve LOGIN PASSWORD 'selfserve'",
            "CREATE DATABASE selfserve OWNER selfserve",
        ):
            self._run(
                str(self._bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                "-qc", f'"{statement}"' if os.geteuid() == 0 else statement,
            )  # fmt: skip

    def start(self) -> None:
        """Start the cluster (again) on its port."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        quoted = f"'{options}'" if os.geteuid() == 0 else options
        self._run(str(self._bin / "pg_ctl"), "-D", str(self.folder / "data"), "-w", "-o", quoted,
                  "-l", str(self.folder / "log"), "start")  # fmt: skip

    def stop(self) -> None:
        """Stop it at once (`-m fast`), as a crash or failover looks to the app."""
        self._run(str(self._bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "stop")


def _postgres_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        raise Failed("no PostgreSQL server binaries (apt-get install postgresql)")
    return versions[-1].parent


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A fresh cluster for this run, stopped and deleted afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="selfserve-image-check-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    postgres = ThrowawayPostgres(folder)
    try:
        postgres.create()
        yield postgres
    finally:
        subprocess.run(  # noqa: S603 - may already be stopped
            _as_postgres([str(postgres._bin / "pg_ctl"), "-D", str(folder / "data"), "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """redis-server on a free port, no persistence; its URL."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
    try:
        wait_until(lambda: _answers(port), 10, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
