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
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.growth import Growth  # noqa: E402
from bench.new_customers import NewCustomers  # noqa: E402
from bench.returning import Returning  # noqa: E402
from bench.scale_out import ScaleOut  # noqa: E402
from bench.servers import GUNICORN, require_wrk  # noqa: E402
from bench.warm_burst import WarmBurst  # noqa: E402


class Bench(Returning, NewCustomers, Growth, ScaleOut, WarmBurst):
    """Every scenario (one module each: bench/returning.py, new_customers.py, growth.py,
    scale_out.py, warm_burst.py), sharing bench/scenario.py's settings and report."""


def main() -> None:
    """Parse arguments, run the chosen scenarios, print and save the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="1,2,3,4,5,6", help="scenarios to run, e.g. 1,3")
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
