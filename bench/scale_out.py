"""Scenario 4: two gunicorn instances sharing PostgreSQL and Redis."""

from __future__ import annotations

import os

from bench.data import count_messages, prepare_database, seed
from bench.load import check_reply
from bench.scenario import Scenario
from bench.servers import DEFAULT_PG, DEFAULT_REDIS, app_env, gunicorn


class ScaleOut(Scenario):
    """4: as 1, on PostgreSQL + Redis with two instances."""

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
