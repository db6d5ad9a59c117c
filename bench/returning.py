"""Scenarios 1 and 5: returning customers, and replayed (duplicate) MessageSids, against
the bare Flask app."""

from __future__ import annotations

from bench.data import count_messages, prepare_database, seed
from bench.load import check_reply
from bench.scenario import Scenario
from bench.servers import app_env, gunicorn, peak_rss_mib


class Returning(Scenario):
    """1: returning customers; 5: the same file of texts replayed."""

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
