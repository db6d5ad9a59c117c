"""What every scenario shares: the arguments, the work folder, the report, fresh request
files, and the side-by-side comparison with the bare Flask app."""

from __future__ import annotations

import argparse
import os
import random
import statistics
from datetime import UTC, datetime
from pathlib import Path

from bench.data import write_requests
from bench.load import run_wrk_on
from bench.servers import ROOT, Report, directory_phone, machine


class Scenario:
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

    def _sample_phones(self, customers: int) -> list[str]:
        """Returning customers spread over the whole directory (seeded, reproducible)."""
        chooser = random.Random(10)
        picked = chooser.sample(range(customers), min(customers, self.args.texting))
        return [directory_phone(i) for i in picked]
