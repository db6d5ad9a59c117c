"""Scenario 7: the spool under a burst while the database is down, and what durability costs.

`bench/run.py --only 7` runs both parts:

- **spool burst**: the real app (gunicorn.conf.py, gevent) whose DATABASE_URL points at a
  PostgreSQL port nobody listens on: every text is refused by the database, spooled to disk
  (fdatasync, grouped) and answered SPOOLED_REPLY. wrk replays signed texts of new numbers;
  the target is at least 1,000 texts/s with p99 under 100 ms. The spool's depth after the
  run must equal the texts answered (none lost).
- **SQLite synchronous FULL vs NORMAL**: the same single-row autocommit INSERTs (the shape of
  a MessageSid claim) in WAL mode under each setting, alternating rounds, side by side; the
  ratio is FULL's rate over NORMAL's.

"""

from __future__ import annotations

import sqlite3
import statistics
import time
from pathlib import Path

from bench.load import check_reply, run_wrk
from bench.scenario import Scenario
from bench.servers import app_env, free_port, gunicorn, stranger_phone

SPOOLED = "text you back"
SPOOL_TARGET_RATE = 1000.0
SPOOL_TARGET_P99_MS = 100.0


class SpoolBurst(Scenario):
    """7: the spool under a burst with the database down; SQLite FULL against NORMAL."""

    def spool(self) -> None:
        """7: both parts, in one report entry."""
        print("7. spool burst, the database down; SQLite synchronous FULL vs NORMAL", flush=True)
        results: dict[str, object] = {"spool_burst": self._spool_burst()}
        results["sqlite_synchronous"] = sqlite_synchronous(self.workdir / "durability.db")
        self.report.results["7_spool"] = results

    def _spool_burst(self) -> dict[str, object]:
        """The app with its database refusing: every text spooled; rate, p99, depth after."""
        instance = self.workdir / "spool-instance"
        down = f"postgresql+psycopg://bench@127.0.0.1:{free_port()}/bench"
        env = app_env(down, "http://127.0.0.1:9", instance)
        phones = [stranger_phone(i) for i in range(5000)]
        count = int(self.args.duration * self.args.max_rate)
        with (
            gunicorn("app:create_app()", env, self.log) as app,
            gunicorn("bench.bare:create_app()", env, self.log) as bare,
        ):
            check_reply(app, phones[0], SPOOLED)
            for url in (app, bare):  # warm both up
                run_wrk(url, self.requests(phones, 3000), 3, 64)
            result = run_wrk(app, self.requests(phones, count), self.args.duration, 64)
            baseline = run_wrk(bare, self.requests(phones, count), self.args.duration, 64)
        depth = _spooled_lines(instance / "spool")
        print(f"    spooled: {result.line()}", flush=True)
        print(f"    bare:    {baseline.line()}", flush=True)
        print(f"    texts on disk after: {depth}; of bare {result.rate / baseline.rate:.2f}")
        return {
            "of_bare": round(result.rate / baseline.rate, 2),
            "bare_rate": round(baseline.rate, 1),
            "rate": round(result.rate, 1),
            "p50_ms": round(result.p50_ms, 1),
            "p99_ms": round(result.p99_ms, 1),
            "max_ms": round(result.max_ms, 1),
            "errors": result.errors,
            "texts_on_disk": depth,
            "target": f">= {SPOOL_TARGET_RATE:.0f}/s, p99 < {SPOOL_TARGET_P99_MS:.0f} ms",
            "met": result.rate >= SPOOL_TARGET_RATE and result.p99_ms < SPOOL_TARGET_P99_MS,
        }


def _spooled_lines(folder: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in folder.glob("*.jsonl"))


def sqlite_synchronous(path: Path, inserts: int = 2000, rounds: int = 3) -> dict[str, object]:
    """Autocommit single-row INSERTs per second under NORMAL and FULL, alternating."""
    rates: dict[str, list[float]] = {"NORMAL": [], "FULL": []}
    for _ in range(rounds):
        for mode in rates:
            rates[mode].append(_insert_rate(path, mode, inserts))
    normal, full = statistics.fmean(rates["NORMAL"]), statistics.fmean(rates["FULL"])
    print(
        f"    SQLite WAL, one-row commits/s: NORMAL {normal:,.0f}, FULL {full:,.0f} "
        f"(FULL/NORMAL {full / normal:.2f})",
        flush=True,
    )
    return {"normal_per_s": round(normal), "full_per_s": round(full), "ratio": full / normal}


def _insert_rate(path: Path, mode: str, inserts: int) -> float:
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={mode}")
        connection.execute("CREATE TABLE claims (sid TEXT PRIMARY KEY, at REAL)")
        started = time.perf_counter()
        for n in range(inserts):
            connection.execute("INSERT INTO claims VALUES (?, ?)", (f"SM{n:032x}", time.time()))
        return inserts / (time.perf_counter() - started)
    finally:
        connection.close()
