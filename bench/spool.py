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

`run` is the bench/run.py module (its helpers: gunicorn, app_env, run_wrk, check_reply …),
handed over so this module needs no import of a script.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

SPOOLED = "text you back"
SPOOL_TARGET_RATE = 1000.0
SPOOL_TARGET_P99_MS = 100.0


def spool_scenario(bench: Any, run: Any) -> None:
    """7: the spool under a burst with the database down; SQLite FULL against NORMAL."""
    print("7. spool burst with the database down; SQLite synchronous FULL vs NORMAL", flush=True)
    results: dict[str, object] = {"spool_burst": spool_burst(bench, run)}
    results["sqlite_synchronous"] = sqlite_synchronous(bench.workdir / "durability.db")
    bench.report.results["7_spool"] = results


def spool_burst(bench: Any, run: Any) -> dict[str, object]:
    """The app with its database refusing: every text spooled; rate, p99, depth after."""
    instance = bench.workdir / "spool-instance"
    down = f"postgresql+psycopg://bench@127.0.0.1:{run.free_port()}/bench"
    env = run.app_env(down, "http://127.0.0.1:9", instance)
    phones = [run.stranger_phone(i) for i in range(5000)]
    count = int(bench.args.duration * bench.args.max_rate)
    with (
        run.gunicorn("app:create_app()", env, bench.log) as app,
        run.gunicorn("bench.bare:create_app()", env, bench.log) as bare,
    ):
        run.check_reply(app, phones[0], SPOOLED)
        for url in (app, bare):  # warm both up
            run.run_wrk(url, bench.requests(phones, 3000), 3, 64)
        result = run.run_wrk(app, bench.requests(phones, count), bench.args.duration, 64)
        baseline = run.run_wrk(bare, bench.requests(phones, count), bench.args.duration, 64)
    depth = _spooled_lines(instance / "spool")
    print(f"    spooled: {result.line()}", flush=True)
    print(f"    bare:    {baseline.line()}", flush=True)
    print(f"    texts on disk after the run: {depth}; of bare {result.rate / baseline.rate:.2f}")
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
