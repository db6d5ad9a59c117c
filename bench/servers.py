"""The benchmarks' servers: gunicorn running the app (or bench/bare.py), the Talon.One
stand-in as its own process, the settings they run with, and the machine's description."""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.stand_ins import talon as talon_contract

ROOT = Path(__file__).resolve().parent.parent

BASE_URL = "https://bench.selfserve.example"
WEBHOOK = "/webhooks/twilio/sms"
TOKEN = "bench-twilio-auth-token"
ACCOUNT_SID = "AC" + "b" * 32
OUR_NUMBER = "+61480000000"
IDENTITY_SECRET = "bench-identity-secret"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
CONFIG = ROOT / "gunicorn.conf.py"
DEFAULT_PG = "postgresql+psycopg://selfserve:selfserve@127.0.0.1:5432/selfserve_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
DEAD = "http://127.0.0.1:9"  # Talon.One for scenarios that must never call it
CAMPAIGNS = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING", "BLOOM"]
application_id = 12
campaign_id = 34
external_campaign_id = "sms-spring"
identifier = "{customer_id}:{campaign_id}"
recipient = true
reply = "Your Spring code: {code} (valid until {expiry:%d %b})"
"""


@dataclass
class WrkResult:
    """What one wrk run measured."""

    requests: int
    seconds: float
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    wrapped: int
    answered: int = 0  # burst.lua: texts answered (the rest were /healthz probes)
    with_code: int = 0  # burst.lua: answers that carried a code

    @property
    def rate(self) -> float:
        """Answered requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        """Socket errors, timeouts and non-2xx answers together."""
        return sum(self.errors.values())

    def line(self) -> str:
        """One readable line."""
        errors = ", ".join(f"{k} {v}" for k, v in self.errors.items() if v) or "none"
        return (
            f"{self.rate:8.1f} req/s  p50 {self.p50_ms:6.1f} ms  p99 {self.p99_ms:7.1f} ms  "
            f"max {self.max_ms:7.1f} ms  ({self.requests} answered; errors: {errors})"
            + (f"  [{self.wrapped} slice wraps]" if self.wrapped else "")
        )


@dataclass
class Report:
    """Everything printed at the end, and written as JSON under bench/results/."""

    started: str
    machine: dict[str, str]
    settings: dict[str, object]
    results: dict[str, object] = field(default_factory=dict)


def machine() -> dict[str, str]:
    """Where this ran: CPU, cores, memory, Python, OS."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "python": platform.python_version(),
        "os": platform.platform(),
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(
            "\n"
        )[0],
    }


def require_wrk() -> None:
    """Stop with a clear message when wrk is missing."""
    if shutil.which("wrk") is None:
        sys.exit(
            "bench needs the wrk load generator: `sudo apt-get install wrk` (Debian/Ubuntu) "
            "or `brew install wrk` (macOS)"
        )


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    """Poll `url` until it answers 200, the process dies, or the deadline passes."""
    end = time.monotonic() + deadline
    delay = 0.05
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    raise RuntimeError(f"{url} did not answer within {deadline}s")


@contextmanager
def gunicorn(target: str, env: dict[str, str], log: Path) -> Iterator[str]:
    """Serve `target` with the project's gunicorn.conf.py on a free port; yields its URL."""
    port = free_port()
    server_env = {**os.environ, **env, "PORT": str(port)}
    server_env.pop("GUNICORN_BIND", None)
    server_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(GUNICORN), "-c", str(CONFIG), target],
            cwd=ROOT,
            env=server_env,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    MASTERS[url] = process.pid
    try:
        wait_until_answering(url + "/healthz", process, 60)
        yield url
    finally:
        stop(process)
        MASTERS.pop(url, None)


MASTERS: dict[str, int] = {}  # a served URL -> its gunicorn master's pid


def peak_rss_mib(url: str) -> list[float]:
    """Peak resident memory (VmHWM) of each worker process serving `url`, in MiB (Linux)."""
    master = MASTERS[url]
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    peaks = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(round(int(line.split()[1]) / 1024, 1))
    return sorted(peaks)


def stop(process: subprocess.Popen[bytes], grace: float = 30) -> None:
    """SIGTERM (graceful: workers finish and flush), then SIGKILL after `grace` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def talon_stand_in(delay: float, log: Path) -> Iterator[str]:
    """The Talon.One stand-in as its own process, `delay` seconds away."""
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.talon_server",
                "--port",
                str(port),
                "--delay",
                str(delay),
            ],
            cwd=ROOT,
            stdout=output,
            stderr=output,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > end or process.poll() is not None:
                    raise RuntimeError("the Talon.One stand-in did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        stop(process, grace=5)


def app_env(database_url: str, talon_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment the real app runs with in the benchmarks."""
    return {
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": BASE_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": OUR_NUMBER,
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",  # nothing is texted in these scenarios
        "TALON_CEP_URL": talon_url,
        "TALON_API_KEY": talon_contract.API_KEY,
        "TALON_DEPLOYMENT_HOST": talon_contract.DEPLOYMENT_HOST,
        "TALON_RATE_LIMIT_PER_MINUTE": "1000000",  # the budget is lifted: we measure speed
        "IDENTITY_SECRET": IDENTITY_SECRET,
        "SECRET_KEY": "bench-secret-key",
        "INSTANCE_PATH": str(instance),
        "REDIS_URL": "",
        **extra,
    }


def directory_phone(index: int) -> str:
    """The phone number of directory customer `index` (valid AU mobiles)."""
    return f"+6140{index:07d}"


def stranger_phone(index: int) -> str:
    """A phone number that is not in the directory."""
    return f"+6141{index:07d}"
