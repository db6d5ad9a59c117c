"""Scenario 3: growth, returning customers with a small and a large directory."""

from __future__ import annotations

import statistics

from bench.data import prepare_database, seed
from bench.load import check_reply, run_wrk
from bench.scenario import Scenario
from bench.servers import DEAD, WrkResult, app_env, gunicorn


class Growth(Scenario):
    """3: per-request time with 10k vs 1M customers."""

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
