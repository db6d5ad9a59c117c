"""Scenario 6: a warm-started stadium burst with Talon.One down."""

from __future__ import annotations

import os
import random
import subprocess
import time
from pathlib import Path

from bench.data import prepare_database, run_sql, run_sql_value, seed, write_requests
from bench.load import run_wrk
from bench.scenario import Scenario
from bench.servers import (
    DEAD,
    ROOT,
    WrkResult,
    app_env,
    directory_phone,
    gunicorn,
    peak_rss_mib,
    talon_stand_in,
)

BURST_CHECKS = {
    "texts_arrived": "SELECT count(*) FROM inbound_messages",
    "customers_answered_with_code": "SELECT count(DISTINCT customer_id) FROM inbound_messages "
    "WHERE outcome IN ('code_issued', 'code_resent')",
    "owed_after": "SELECT count(*) FROM deferred_codes",
}
BURST_SPAN = (
    "SELECT (julianday(max(received_at)) - julianday(min(received_at))) * 86400 "
    "FROM inbound_messages"
)


class WarmBurst(Scenario):
    """6: warmed customers all text at once."""

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
        warmed, warm_seconds = self._warm_up(url, instance)
        print(f"    warmed {warmed} codes in {warm_seconds:.0f}s; Talon.One is down", flush=True)
        result, rss = self._burst(url, instance, size)
        counts = {name: run_sql(url, sql) for name, sql in BURST_CHECKS.items()}
        burst_seconds = float(run_sql_value(url, BURST_SPAN) or 0)
        self._report_burst(size, result, counts, burst_seconds)
        self.report.results["6_warm_burst"] = {
            "customers": size,
            "warm_up_seconds": round(warm_seconds, 1),
            "warmed": warmed,
            **counts,
            "answers": result.answered,
            "answers_with_code": result.with_code,
            "burst_seconds_first_to_last_text": round(burst_seconds, 1),
            "p50_ms": result.p50_ms,
            "p99_ms": result.p99_ms,
            "errors": result.error_count,
            "peak_rss_mib_per_worker": rss,
        }

    def _warm_up(self, url: str, instance: Path) -> tuple[int, float]:
        """`flask campaigns warm spring` against a healthy stand-in: codes warmed, seconds."""
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
        return run_sql(url, "SELECT count(*) FROM issued_coupons WHERE warm"), warm_seconds

    def _burst(self, url: str, instance: Path, size: int) -> tuple[WrkResult, list[float]]:
        """Every warmed customer texts once, Talon.One down; wrk's result and peak memory."""
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
            return result, peak_rss_mib(app)

    @staticmethod
    def _report_burst(
        size: int, result: WrkResult, counts: dict[str, int], burst_seconds: float
    ) -> None:
        """Print the burst's verdict against its targets."""
        received, with_code = counts["texts_arrived"], counts["customers_answered_with_code"]
        owed = counts["owed_after"]
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
