"""selfserve benchmarks (not tests): `make bench`, or `.venv/bin/python bench/run.py --only 1,3`.

Every benchmark starts the real app under the project's own gunicorn.conf.py and replays
correctly signed Twilio webhook requests with `wrk` (bench/replay.lua; each wrk thread has its
own slice of MessageSids). Figures that are compared are measured side by side in one run,
so the ratios hold even though absolute numbers drift from run to run.

1. returning customers (code already issued) vs a bare Flask app (bench/bare.py) that only
   reads the form and answers fixed TwiML, same gunicorn settings — target ratio ≥ 0.65, 0 errors
2. new customers with a Talon.One stand-in 300 ms away (bench/talon_server.py), measured at 64
   and at 128 connections — target at 128: ≥ 360 answered/s, p99 < 600 ms, 0 errors
3. growth: returning customers with 10k vs 1M directory customers, issued codes and
   message-log rows — per-request time flat (ratio ≈ 1)
4. as 1, on PostgreSQL + Redis with two gunicorn instances sharing them (and two bare ones) —
   target ratio ≥ 0.5
5. as 1, but one file of 2,000 signed requests replayed over and over (Twilio's retries, or a
   load generator looping over its file): every measured text is a duplicate MessageSid —
   target ratio ≥ 0.7
6. a warm-started stadium burst: 20,000 directory customers warmed (`campaigns warm`), then
   every one of them texts once with Talon.One down (bench/burst.lua) — target: every text
   answered inline with its code, nothing owed to Talon.One, p99 < 500 ms, all within 2 minutes
Scenarios 1, 2 and 5 also report each worker's peak resident memory (VmHWM).

Scenario 4 uses BENCH_DATABASE_URL (default: the selfserve_bench database of
scripts/test-services' role) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/9); its
tables are dropped and re-created.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from bench.spool import spool_scenario  # noqa: E402
from selfserve.campaigns import import_campaigns  # noqa: E402
from selfserve.ops import (  # noqa: E402
    build_engine,
    build_sessionmaker,
    migrate,  # noqa: E402
)
from tests.stand_ins import talon as talon_contract  # noqa: E402
from tests.stand_ins.twilio_webhook import inbound_sms_form  # noqa: E402

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


def prepare_database(url: str) -> None:
    """A fresh schema at the latest migration, with the bench campaign."""
    engine = build_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    with build_sessionmaker(engine, write_first=True).begin() as db:
        import_campaigns(db, CAMPAIGNS)
    engine.dispose()


def seed(url: str, customers: int, messages: int) -> None:
    """Directory customers with an issued code each, and `messages` message-log rows."""
    engine = build_engine(url)
    started = time.monotonic()
    if engine.dialect.name == "sqlite":
        _seed_sqlite(engine, customers, messages)
    else:
        _seed_with_core(engine, customers, messages)
    engine.dispose()
    print(
        f"    seeded {customers} customers + codes, {messages} message rows "
        f"in {time.monotonic() - started:.0f}s",
        flush=True,
    )


def _seed_rows(customers: int, messages: int) -> tuple[Any, Any, Any]:
    now = datetime.now(UTC)
    expiry = now + timedelta(days=60)
    reply = "Your Spring code: T1-00000000 (valid until 31 Dec)"
    people = ((directory_phone(i), f"C{i:07d}", "Alex", now) for i in range(customers))
    codes = (
        ("spring", f"C{i:07d}:34", f"C{i:07d}", f"T1-{i:08X}", i, now, expiry, now)
        for i in range(customers)
    )
    logged = (
        (
            f"SMseed{i:026x}",
            now - timedelta(seconds=messages - i),
            "sms",
            "+61 4•• ••• •56",
            f"C{i % max(customers, 1):07d}",
            OUR_NUMBER,
            "SPRING",
            "spring",
            "done",
            "code_resent",
            reply,
        )
        for i in range(messages)
    )
    return people, codes, logged


_CUSTOMERS_SQL = "INSERT INTO customers (phone_e164, customer_id, first_name, updated_at) "
_CODES_SQL = (
    "INSERT INTO issued_coupons (campaign_slug, identifier, customer_id, code, "
    "talon_coupon_id, starts_at, expires_at, issued_at) "
)
_MESSAGES_SQL = (
    "INSERT INTO inbound_messages (message_sid, received_at, channel, phone_masked, "
    "customer_id, to_number, keyword, campaign_slug, state, outcome, reply) "
)


def _seed_sqlite(engine: Any, customers: int, messages: int) -> None:
    """The driver's executemany in one transaction: a million rows in seconds, not minutes.
    Timestamps are written as SQLAlchemy writes them for SQLite (naive UTC text)."""

    def stamp(rows: Any) -> Any:
        for row in rows:
            yield tuple(
                v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v
                for v in row
            )

    people, codes, logged = _seed_rows(customers, messages)
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        connection.execute("BEGIN")
        connection.executemany(_CUSTOMERS_SQL + "VALUES (?, ?, ?, ?)", stamp(people))
        connection.executemany(_CODES_SQL + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", stamp(codes))
        connection.executemany(
            _MESSAGES_SQL + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", stamp(logged)
        )
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def _seed_with_core(engine: Any, customers: int, messages: int) -> None:
    people, codes, logged = _seed_rows(customers, messages)
    with engine.begin() as connection:
        connection.exec_driver_sql(_CUSTOMERS_SQL + "VALUES (%s, %s, %s, %s)", list(people))
        connection.exec_driver_sql(
            _CODES_SQL + "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", list(codes)
        )
        if messages:
            connection.exec_driver_sql(
                _MESSAGES_SQL + "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                list(logged),
            )
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def twilio_form(body: str, sender: str, sid: str) -> dict[str, str]:
    """The whole form Twilio posts for one inbound SMS to the bench's number."""
    return inbound_sms_form(body, sender, sid, OUR_NUMBER, ACCOUNT_SID)


def write_requests(path: Path, phones: list[str], count: int, tag: str) -> Path:
    """`count` signed requests cycling through `phones`, each with its own MessageSid.

    `tag` (10 hex digits) starts every MessageSid of the file, so files never share one.

    The twilio library signs each one, as Twilio would; the form is encoded once and only the
    fields that change are quoted per request (urlencode of the whole form was the slow part).
    """
    validator = RequestValidator(TOKEN)
    url = BASE_URL + WEBHOOK
    bodies = ("SPRING", "spring", "Bloom!", "  spring please ")
    template = twilio_form("\x01", "\x02", "\x03")
    encoded = urlencode(template)
    quoted_phones = [quote_plus(phone) for phone in phones]
    quoted_bodies = [quote_plus(body) for body in bodies]
    with path.open("w") as out:
        for i in range(count):
            sid = f"SM{tag}{i:022x}"  # SM + 32 hex digits, as Twilio's
            body = bodies[i % len(bodies)]
            phone = phones[i % len(phones)]
            form = {**template, "Body": body, "From": phone, "MessageSid": sid}
            form["SmsSid"] = form["SmsMessageSid"] = sid
            signature = validator.compute_signature(url, form)
            line = (
                encoded.replace("%01", quoted_bodies[i % len(bodies)])
                .replace("%02", quoted_phones[i % len(phones)])
                .replace("%03", sid)
            )
            out.write(f"{signature}\t{line}\n")
    return path


def run_wrk(
    url: str,
    requests_file: Path,
    seconds: float,
    connections: int,
    threads: int = 2,
    script: str = "replay.lua",
    extra: tuple[str, ...] = (),
) -> WrkResult:
    """Replay `requests_file` against `url` for `seconds` (burst.lua: each line once)."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(ROOT / "bench" / script),
        url + WEBHOOK,
        "--",
        str(requests_file),
        WEBHOOK,
        *extra,
    ]
    env = {**os.environ, "WRK_THREADS": str(threads)}
    finished = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed: {finished.stderr.strip() or finished.stdout.strip()}")
    line = next((x for x in finished.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{finished.stdout}\n{finished.stderr}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        errors={k: raw[k] for k in ("connect", "read", "write", "status", "timeout")},
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        wrapped=raw["wrapped"],
        answered=raw.get("answered", raw["requests"]),
        with_code=raw.get("with_code", 0),
    )


def run_wrk_on(urls: list[str], files: list[Path], seconds: float, connections: int) -> WrkResult:
    """One wrk per URL at the same time (connections split); figures summed / worst-of."""
    if len(urls) == 1:
        return run_wrk(urls[0], files[0], seconds, connections)
    from concurrent.futures import ThreadPoolExecutor

    share = max(1, connections // len(urls))
    with ThreadPoolExecutor(len(urls)) as pool:
        results = list(
            pool.map(
                lambda pair: run_wrk(pair[0], pair[1], seconds, share, threads=1),
                zip(urls, files, strict=True),
            )
        )
    return WrkResult(
        requests=sum(r.requests for r in results),
        seconds=max(r.seconds for r in results),
        errors={k: sum(r.errors[k] for r in results) for k in results[0].errors},
        p50_ms=max(r.p50_ms for r in results),
        p90_ms=max(r.p90_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        max_ms=max(r.max_ms for r in results),
        mean_ms=statistics.fmean(r.mean_ms for r in results),
        wrapped=sum(r.wrapped for r in results),
    )


def check_reply(url: str, phone: str, expect: str) -> None:
    """Send one signed text and insist the reply contains `expect` (the bench measures truth)."""
    sid = f"SMcheck{random.getrandbits(96):024x}"
    form = twilio_form("SPRING", phone, sid)
    signature = RequestValidator(TOKEN).compute_signature(BASE_URL + WEBHOOK, form)
    answer = httpx.post(
        url + WEBHOOK, data=form, headers={"X-Twilio-Signature": signature}, timeout=10
    )
    if answer.status_code != 200 or expect not in answer.text:
        raise RuntimeError(f"unexpected answer {answer.status_code}: {answer.text[:200]}")


def count_messages(url: str) -> int:
    """Rows in the message log."""
    return run_sql(url, "SELECT count(*) FROM inbound_messages")


def run_sql(url: str, sql: str) -> int:
    """Run one statement; the first column of its first row as a whole number (0 for none)."""
    return int(run_sql_value(url, sql) or 0)


def run_sql_value(url: str, sql: str) -> Any:
    """Run one statement; the first column of its first row (None for none)."""
    engine = build_engine(url)
    with engine.begin() as connection:
        result = connection.execute(text(sql))
        value = result.scalar() if result.returns_rows else None
    engine.dispose()
    return value


class Bench:
    """Runs the scenarios with shared settings and collects the report."""

    def __init__(self, arguments: argparse.Namespace, workdir: Path) -> None:
        self.args = arguments
        self.workdir = workdir
        results = ROOT / "bench" / "results"
        results.mkdir(exist_ok=True)
        self.log = results / f"servers-{datetime.now(UTC):%Y%m%d-%H%M%S}.log"
        self.report = Report(
            started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            machine=machine(),
            settings={
                "duration_s": arguments.duration,
                "connections_returning": arguments.connections,
                "connections_new": 128,
                "rounds": arguments.rounds,
                "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "(gunicorn.conf.py)"),
                "GUNICORN_THREADS": os.environ.get("GUNICORN_THREADS", "(gunicorn.conf.py)"),
            },
        )
        self._files = 0

    def requests(self, phones: list[str], count: int) -> Path:
        """A fresh file of signed requests (fresh MessageSids every time)."""
        self._files += 1
        tag = f"{self._files:02x}{random.getrandbits(32):08x}"
        return write_requests(self.workdir / f"requests-{tag}.txt", phones, count, tag)

    def sqlite_url(self, name: str) -> str:
        """A new SQLite database file in the work folder."""
        return f"sqlite:///{self.workdir / name}"

    def side_by_side(
        self,
        name: str,
        app_urls: list[str],
        bare_urls: list[str],
        phones: list[str],
        replay: list[Path] | None = None,
        target: float = 0.5,
    ) -> dict[str, object]:
        """Alternate app and bare runs `rounds` times; ratio of the mean rates.

        Every run sends fresh MessageSids, unless `replay` names the files to send again and
        again (each sent once in the warm-up, so every measured text is a duplicate)."""
        seconds, connections = self.args.duration, self.args.connections
        per_run = int(seconds * self.args.max_rate)
        warm = replay or [self.requests(phones, 5000) for _ in app_urls]
        run_wrk_on(app_urls, warm, 3, connections)
        run_wrk_on(bare_urls, warm, 3, connections)
        app_runs, bare_runs = [], []
        for round_number in range(1, self.args.rounds + 1):
            files = replay or [self.requests(phones, per_run) for _ in app_urls]
            app = run_wrk_on(app_urls, files, seconds, connections)
            bare = run_wrk_on(bare_urls, files, seconds, connections)
            print(f"    round {round_number} selfserve {app.line()}", flush=True)
            print(f"    round {round_number} bare      {bare.line()}", flush=True)
            app_runs.append(app)
            bare_runs.append(bare)
        app_rate = statistics.fmean(r.rate for r in app_runs)
        bare_rate = statistics.fmean(r.rate for r in bare_runs)
        ratio = app_rate / bare_rate
        errors = sum(r.error_count for r in app_runs + bare_runs)
        verdict = "PASS" if ratio >= target and errors == 0 else "FAIL"
        print(
            f"  => {name}: selfserve {app_rate:.0f}/s vs bare Flask {bare_rate:.0f}/s: "
            f"ratio {ratio:.2f} (target >= {target}), errors {errors}  {verdict}",
            flush=True,
        )
        return {
            "selfserve_per_s": round(app_rate, 1),
            "bare_per_s": round(bare_rate, 1),
            "ratio": round(ratio, 3),
            "errors": errors,
            "selfserve_p99_ms": max(r.p99_ms for r in app_runs),
            "bare_p99_ms": max(r.p99_ms for r in bare_runs),
            "runs": [r.line() for r in app_runs + bare_runs],
        }

    def returning(self) -> None:
        """1: returning customers vs bare Flask, SQLite, one gunicorn."""
        print("1. returning customers vs bare Flask (SQLite, embedded mode)", flush=True)
        self._against_bare(
            "returning customers", "1_returning_vs_bare", replayed=False, target=0.65
        )

    def replayed(self) -> None:
        """5: as 1, but one file of signed requests replayed over and over: Twilio's retries,
        or a load generator looping over its file. Every measured text is a duplicate."""
        print("5. replayed requests (duplicate MessageSids) vs bare Flask (SQLite)", flush=True)
        self._against_bare("replayed requests", "5_replayed_vs_bare", replayed=True, target=0.7)

    def _against_bare(self, name: str, key: str, replayed: bool, target: float) -> None:
        """Seeded returning customers on SQLite, the app and bare Flask side by side."""
        url = self.sqlite_url(f"{key}.db")
        prepare_database(url)
        seed(url, self.args.customers, 0)
        phones = self._sample_phones(self.args.customers)
        env = app_env(url, "http://127.0.0.1:9", self.workdir / "instance")
        with (
            gunicorn("app:create_app()", env, self.log) as app,
            gunicorn("bench.bare:create_app()", env, self.log) as bare,
        ):
            check_reply(app, phones[0], "Your Spring code: T1-")
            replay = [self.requests(phones, len(phones))] if replayed else None
            result = self.side_by_side(name, [app], [bare], phones, replay, target)
            result["peak_rss_mib_per_worker"] = {"selfserve": peak_rss_mib(app)}
            result["peak_rss_mib_per_worker"]["bare"] = peak_rss_mib(bare)
            print(f"    peak RSS per worker (MiB): {result['peak_rss_mib_per_worker']}", flush=True)
        result["message_rows"] = count_messages(url)
        self.report.results[key] = result

    def new_customers(self) -> None:
        """2: new customers, Talon.One 300 ms away, at 64 and 128 connections."""
        print("2. new customers, Talon.One stand-in 300 ms away", flush=True)
        url = self.sqlite_url("new.db")
        prepare_database(url)
        seconds = self.args.duration
        levels = (64, 128)
        per_level = int(seconds * 1000) + 2000
        phones = [stranger_phone(i) for i in range(2000 + per_level * len(levels))]
        results: dict[str, object] = {}
        with talon_stand_in(0.3, self.log) as talon:
            env = app_env(url, talon, self.workdir / "instance")
            with gunicorn("app:create_app()", env, self.log) as app:
                warm = write_requests(self.workdir / "new-warm.txt", phones[:2000], 2000, "a" * 10)
                run_wrk(app, warm, 3, 128)
                for index, connections in enumerate(levels):
                    first = 2000 + index * per_level
                    measured = write_requests(
                        self.workdir / f"new-{connections}.txt",
                        phones[first : first + per_level],
                        per_level,
                        f"{index + 11:010x}",
                    )
                    result = run_wrk(app, measured, seconds, connections)
                    # The targets are for 128 connections; 64 shows the shape below saturation.
                    floor, ceiling = (360, 600) if connections == 128 else (100, 1000)
                    ok = (
                        result.rate >= floor and result.p99_ms < ceiling and result.error_count == 0
                    )
                    print(f"    {connections:3d} connections {result.line()}", flush=True)
                    print(
                        f"  => new customers, {connections} connections: {result.rate:.0f} "
                        f"answered/s (target >= {floor}), p99 {result.p99_ms:.0f} ms "
                        f"(target < {ceiling}), "
                        f"errors {result.error_count}  {'PASS' if ok else 'FAIL'}",
                        flush=True,
                    )
                    results[f"{connections}_connections"] = {
                        "answered_per_s": round(result.rate, 1),
                        "p50_ms": result.p50_ms,
                        "p99_ms": result.p99_ms,
                        "max_ms": result.max_ms,
                        "errors": result.error_count,
                        "wrapped": result.wrapped,
                    }
                results["peak_rss_mib_per_worker"] = peak_rss_mib(app)
                print(f"    peak RSS per worker (MiB): {results['peak_rss_mib_per_worker']}")
        self.report.results["2_new_customers_talon_300ms"] = results

    def growth(self) -> None:
        """3: the returning path with a small and a large database, side by side."""
        small, large = self.args.growth_small, self.args.growth_large
        print(f"3. growth: {small} vs {large} customers, codes and message rows", flush=True)
        sizes = {"small": small, "large": large}
        urls = {}
        for label, size in sizes.items():
            urls[label] = self.sqlite_url(f"growth-{label}.db")
            prepare_database(urls[label])
            seed(urls[label], size, size)
        phones = {label: self._sample_phones(size) for label, size in sizes.items()}
        seconds, connections = self.args.duration, self.args.connections
        rates: dict[str, list[WrkResult]] = {"small": [], "large": []}
        instance = self.workdir / "instance"
        with (
            gunicorn("app:create_app()", app_env(urls["small"], DEAD, instance), self.log) as a,
            gunicorn("app:create_app()", app_env(urls["large"], DEAD, instance), self.log) as b,
        ):
            servers = {"small": a, "large": b}
            for label, url in servers.items():
                check_reply(url, phones[label][0], "Your Spring code: T1-")
                run_wrk(url, self.requests(phones[label], 5000), 3, connections)
            for _ in range(self.args.rounds):  # alternating, so drift hits both alike
                for label, url in servers.items():
                    file = self.requests(phones[label], int(seconds * self.args.max_rate))
                    result = run_wrk(url, file, seconds, connections)
                    print(f"    {label:5} ({sizes[label]:>8}) {result.line()}", flush=True)
                    rates[label].append(result)
        small_rate = statistics.fmean(r.rate for r in rates["small"])
        large_rate = statistics.fmean(r.rate for r in rates["large"])
        small_ms = 1000 / small_rate
        large_ms = 1000 / large_rate
        ratio = large_ms / small_ms
        print(
            f"  => growth: {small_ms:.3f} ms vs {large_ms:.3f} ms of server time per request "
            f"({small_rate:.0f}/s vs {large_rate:.0f}/s): ratio {ratio:.2f} (flat = 1.0)",
            flush=True,
        )
        self.report.results["3_growth"] = {
            "small": small,
            "large": large,
            "small_per_s": round(small_rate, 1),
            "large_per_s": round(large_rate, 1),
            "time_ratio_large_over_small": round(ratio, 3),
            "errors": sum(r.error_count for r in rates["small"] + rates["large"]),
        }

    def scale_out(self) -> None:
        """4: as 1, on PostgreSQL + Redis, two gunicorn instances sharing them."""
        url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG)
        redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
        print("4. returning customers vs bare Flask, PostgreSQL + Redis, 2 instances", flush=True)
        try:
            prepare_database(url)
        except Exception as error:  # noqa: BLE001 - report any reason and carry on
            print(f"    skipped: PostgreSQL not reachable ({type(error).__name__})", flush=True)
            self.report.results["4_scale_out"] = "skipped: PostgreSQL not reachable"
            return
        seed(url, self.args.customers, 0)
        phones = self._sample_phones(self.args.customers)
        env = app_env(url, "http://127.0.0.1:9", self.workdir / "instance", REDIS_URL=redis_url)
        with (
            gunicorn("app:create_app()", env, self.log) as app_a,
            gunicorn("app:create_app()", env, self.log) as app_b,
            gunicorn("bench.bare:create_app()", env, self.log) as bare_a,
            gunicorn("bench.bare:create_app()", env, self.log) as bare_b,
        ):
            check_reply(app_a, phones[0], "Your Spring code: T1-")
            check_reply(app_b, phones[1], "Your Spring code: T1-")
            result = self.side_by_side(
                "PostgreSQL + Redis, 2 instances",
                [app_a, app_b],
                [bare_a, bare_b],
                phones,
                None,
                0.5,
            )
        result["message_rows"] = count_messages(url)
        self.report.results["4_scale_out_postgresql_redis"] = result

    def warm_burst(self) -> None:
        """6: directory customers warmed, then every one of them texts at once while Talon.One
        is down: each must get its own code inline, with no Talon.One call."""
        size = self.args.burst
        print(f"6. warm-started burst: {size} customers warmed, then {size} texts", flush=True)
        url = self.sqlite_url("burst.db")
        prepare_database(url)
        seed(url, size, 0)
        run_sql(url, "DELETE FROM issued_coupons")  # nobody holds a code before the warm-up
        instance = self.workdir / "instance"
        with talon_stand_in(0.0, self.log) as talon:
            started = time.monotonic()
            warm = subprocess.run(
                [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "campaigns", "warm"]
                + ["spring", "--budget-share", "1"],
                cwd=ROOT,
                env={**os.environ, **app_env(url, talon, instance)},
                capture_output=True,
                text=True,
                check=False,
            )
            warm_seconds = time.monotonic() - started
        if warm.returncode != 0:
            raise RuntimeError(f"campaigns warm failed: {warm.stderr[-2000:]}")
        warmed = run_sql(url, "SELECT count(*) FROM issued_coupons WHERE warm")
        print(f"    warmed {warmed} codes in {warm_seconds:.0f}s; Talon.One is down", flush=True)
        phones = [directory_phone(i) for i in range(size)]
        random.Random(6).shuffle(phones)
        texts = write_requests(self.workdir / "burst.txt", phones, size, "6" * 10)
        with gunicorn("app:create_app()", app_env(url, DEAD, instance), self.log) as app:
            # wrk runs for its whole duration even when every thread is done: long enough for
            # the burst at a fifth of the returning-customer rate, and well under 2 minutes.
            result = run_wrk(
                app,
                texts,
                max(20, size // 400),
                self.args.connections,
                script="burst.lua",
                extra=("code: T1-",),
            )
            rss = peak_rss_mib(app)
        owed = run_sql(url, "SELECT count(*) FROM deferred_codes")
        received = run_sql(url, "SELECT count(*) FROM inbound_messages")
        with_code = run_sql(
            url,
            "SELECT count(DISTINCT customer_id) FROM inbound_messages "
            "WHERE outcome IN ('code_issued', 'code_resent')",
        )
        span = run_sql_value(
            url,
            "SELECT (julianday(max(received_at)) - julianday(min(received_at))) * 86400 "
            "FROM inbound_messages",
        )
        burst_seconds = float(span or 0)
        ok = (
            with_code == received >= size - 10
            and result.with_code == result.answered
            and result.p99_ms < 500
            and burst_seconds < 120
            and owed == 0
            and result.error_count == 0
        )
        print(f"    {result.line()}", flush=True)
        print(
            f"  => warm burst: {received} customers' texts arrived, {with_code} answered inline "
            f"with their code; {result.with_code} of {result.answered} answers carried a code; "
            f"first to last in {burst_seconds:.1f}s, p99 {result.p99_ms:.0f} ms (target < 500); "
            f"{owed} owed "
            f"to Talon.One later  {'PASS' if ok else 'FAIL'}",
            flush=True,
        )
        self.report.results["6_warm_burst"] = {
            "customers": size,
            "warm_up_seconds": round(warm_seconds, 1),
            "warmed": warmed,
            "texts_arrived": received,
            "customers_answered_with_code": with_code,
            "answers": result.answered,
            "answers_with_code": result.with_code,
            "burst_seconds_first_to_last_text": round(burst_seconds, 1),
            "p50_ms": result.p50_ms,
            "p99_ms": result.p99_ms,
            "errors": result.error_count,
            "owed_after": owed,
            "peak_rss_mib_per_worker": rss,
        }

    def _sample_phones(self, customers: int) -> list[str]:
        """Returning customers spread over the whole directory (seeded, reproducible)."""
        chooser = random.Random(10)
        picked = chooser.sample(range(customers), min(customers, self.args.texting))
        return [directory_phone(i) for i in picked]


def main() -> None:
    """Parse arguments, run the chosen scenarios, print and save the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="1,2,3,4,5,6,7", help="scenarios to run, e.g. 1,3")
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per figure")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (1, 3, 4)")
    parser.add_argument("--customers", type=int, default=10000, help="directory size (1, 4)")
    parser.add_argument("--texting", type=int, default=2000, help="distinct customers texting")
    parser.add_argument("--growth-small", type=int, default=10_000)
    parser.add_argument("--growth-large", type=int, default=1_000_000)
    parser.add_argument(
        "--max-rate", type=float, default=4000, help="requests per second to pre-sign for"
    )
    parser.add_argument("--burst", type=int, default=20_000, help="customers warmed (6)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    arguments = parser.parse_args()
    require_wrk()
    if not GUNICORN.exists():
        sys.exit("run `make setup` first (no .venv/bin/gunicorn)")
    chosen = {part.strip() for part in arguments.only.split(",") if part.strip()}
    workdir = Path(tempfile.mkdtemp(prefix="selfserve-bench-"))
    bench = Bench(arguments, workdir)
    print(f"selfserve bench, {bench.report.started}; work folder {workdir}", flush=True)
    print(f"machine: {json.dumps(bench.report.machine)}", flush=True)
    steps = {
        "1": bench.returning,
        "2": bench.new_customers,
        "3": bench.growth,
        "4": bench.scale_out,
        "5": bench.replayed,
        "6": bench.warm_burst,
        "7": lambda: spool_scenario(bench, sys.modules[__name__]),
    }
    try:
        for key in sorted(chosen):
            steps[key]()
    finally:
        results = ROOT / "bench" / "results"
        results.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        out = results / f"bench-{stamp}.json"
        out.write_text(json.dumps(bench.report.__dict__, indent=2, default=str))
        print(f"report: {out}; server logs: {bench.log}", flush=True)
        if not arguments.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
