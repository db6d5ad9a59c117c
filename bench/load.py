"""Load with wrk: replay signed request files against one or more servers, check a reply."""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

from bench.data import twilio_form
from bench.servers import BASE_URL, ROOT, TOKEN, WEBHOOK, WrkResult


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
