"""Competition draws, notices and export, and the console and landing pages."""

from __future__ import annotations

import csv
import io
import logging
import random
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from selfserve.campaigns import spec_from_definition
from selfserve.journeys import (
    pick_winners,
)
from selfserve.models import CompetitionDraw, CompetitionEntry, CompetitionWinner, OptOut
from tests.competitions.conftest import (
    competition_spec,
    enter_many,
)
from tests.conftest import (
    import_campaigns_text,
    reply_text,
    send_text,
)


class TestDraw:
    def test_draws_are_uniform_over_entries(self):
        """Chi-square over many seeded draws: each of 20 entries wins about as often."""
        entrants = list(range(1, 21))
        wins = dict.fromkeys(entrants, 0)
        draws, per_draw = 3000, 3
        for seed in range(draws):
            chosen = pick_winners(entrants, per_draw, random.Random(f"seed-{seed}"))
            assert len(set(chosen)) == per_draw
            for entry in chosen:
                wins[entry] += 1
        expected = draws * per_draw / len(entrants)
        chi_square = sum((count - expected) ** 2 / expected for count in wins.values())
        # 19 degrees of freedom: the 99.99th percentile is about 49; a biased draw is far above.
        assert chi_square < 60, (chi_square, wins)

    def test_a_biased_picker_fails_the_same_check(self):
        """The fairness check can fail: always favouring the first entries is caught."""
        entrants = list(range(1, 21))
        wins = dict.fromkeys(entrants, 0)
        for seed in range(3000):
            pool = entrants[:10] if seed % 3 else entrants
            for entry in pick_winners(pool, 3, random.Random(seed)):
                wins[entry] += 1
        expected = 9000 / 20
        chi_square = sum((count - expected) ** 2 / expected for count in wins.values())
        assert chi_square > 60

    def test_the_secure_draw_is_uniform_too(self):
        import secrets

        entrants = list(range(10))
        wins = dict.fromkeys(entrants, 0)
        generator = secrets.SystemRandom()
        for _ in range(4000):
            wins[pick_winners(entrants, 1, generator)[0]] += 1
        chi_square = sum((count - 400) ** 2 / 400 for count in wins.values())
        assert chi_square < 40  # 9 degrees of freedom; 99.99th percentile about 33.7

    def test_a_seeded_draw_is_reproducible_and_recorded(self, competition_app, runner):
        enter_many(competition_app, 30)
        first = runner.invoke(
            args=["competitions", "draw", "bike", "--winners", "3", "--seed", "s1"]
        )
        second = runner.invoke(
            args=["competitions", "draw", "bike", "--winners", "3", "--seed", "s1"]
        )
        other = runner.invoke(
            args=["competitions", "draw", "bike", "--winners", "3", "--seed", "s2"]
        )
        assert first.exit_code == 0, first.output
        assert "3 winner(s) among 30 entries (seed 's1')" in first.output
        winners = lambda output: [line for line in output.splitlines() if ". entry " in line]  # noqa: E731
        assert len(winners(first.output)) == 3
        assert winners(first.output) == winners(second.output)
        assert winners(first.output) != winners(other.output)
        with competition_app.extensions["selfserve"].sessions() as db:
            draws = db.scalars(select(CompetitionDraw).order_by(CompetitionDraw.id)).all()
            assert [(d.seed, d.method, d.entries_count) for d in draws] == [
                ("s1", "Random(seed)", 30),
                ("s1", "Random(seed)", 30),
                ("s2", "Random(seed)", 30),
            ]
            assert db.scalar(select(func.count()).select_from(CompetitionWinner)) == 9

    def test_an_unseeded_draw_uses_the_secure_generator(self, competition_app, runner):
        enter_many(competition_app, 5)
        result = runner.invoke(args=["competitions", "draw", "bike", "--winners", "2"])
        assert result.exit_code == 0, result.output
        assert "(secure random)" in result.output
        with competition_app.extensions["selfserve"].sessions() as db:
            draw = db.scalar(select(CompetitionDraw))
        assert (draw.method, draw.seed, draw.winners_requested) == ("SystemRandom", None, 2)

    def test_more_winners_than_entries_means_every_entry_wins(self, competition_app, runner):
        enter_many(competition_app, 2)
        result = runner.invoke(args=["competitions", "draw", "bike", "--winners", "5"])
        assert result.exit_code == 0
        assert "2 winner(s) among 2 entries" in result.output

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["competitions", "draw", "nope", "--winners", "1"], "no competition 'nope'"),
            (["competitions", "draw", "spring", "--winners", "1"], "no competition 'spring'"),
            (["competitions", "draw", "bike", "--winners", "1"], "has no entries"),
            (["competitions", "draw", "bike", "--winners", "0"], "0 is not in the range"),
        ],
    )
    def test_bad_draws_fail_clearly(self, competition_app, runner, args, message):
        result = runner.invoke(args=args)
        assert result.exit_code != 0
        assert message in result.output

    def test_notify_texts_each_winner_once(self, competition_app, runner, twilio_stand_in):
        enter_many(competition_app, 4)
        first = runner.invoke(
            args=["competitions", "draw", "bike", "--winners", "4", "--seed", "x", "--notify"]
        )
        assert first.exit_code == 0, first.output
        assert first.output.count("  sent") == 4
        assert len(twilio_stand_in.messages) == 4
        bodies = sorted(message.body for message in twilio_stand_in.messages)
        assert bodies == [f"You won Win a bike, entry {n}!" for n in (1, 2, 3, 4)]
        again = runner.invoke(
            args=["competitions", "draw", "bike", "--winners", "4", "--seed", "x", "--notify"]
        )
        assert again.output.count("already sent") == 4
        assert len(twilio_stand_in.messages) == 4

    def test_notify_never_texts_an_opted_out_winner(self, competition_app, runner, twilio_stand_in):
        enter_many(competition_app, 1)
        with competition_app.extensions["selfserve"].writes.begin() as db:
            db.add(OptOut(phone_e164="+61491570200", opted_out=True))
        result = runner.invoke(args=["competitions", "draw", "bike", "--winners", "1", "--notify"])
        assert "opted out" in result.output
        assert twilio_stand_in.messages == []


class TestExport:
    def test_the_export_masks_numbers(self, competition_app, runner, tmp_path):
        enter_many(competition_app, 3)
        runner.invoke(args=["competitions", "draw", "bike", "--winners", "1", "--seed", "a"])
        target = tmp_path / "entries.csv"
        result = runner.invoke(args=["competitions", "export", "bike", str(target)])
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(io.StringIO(target.read_text())))
        assert [row["entry_number"] for row in rows] == ["1", "2", "3"]
        assert all("•" in row["phone"] for row in rows)
        assert "+61491570200" not in target.read_text()
        assert sum(row["won_in_draws"] == "1" for row in rows) == 1

    def test_reveal_shows_numbers_and_is_logged_without_them(self, competition_app, runner, caplog):
        enter_many(competition_app, 2)
        with caplog.at_level(logging.INFO):
            result = runner.invoke(args=["competitions", "export", "bike", "--reveal"])
        assert result.exit_code == 0
        assert "+61491570200" in result.output
        revealed = [r for r in caplog.records if r.getMessage() == "competition_export_revealed"]
        assert len(revealed) == 1
        assert revealed[0].campaign == "bike"
        assert "+6149157020" not in caplog.text + str(revealed[0].__dict__)

    def test_the_masked_export_is_not_logged_as_revealed(self, competition_app, runner, caplog):
        enter_many(competition_app, 1)
        with caplog.at_level(logging.INFO):
            result = runner.invoke(args=["competitions", "export", "bike"])
        assert "+61491570200" not in result.output
        assert "competition_export_revealed" not in caplog.text


def test_a_spec_round_trips_through_its_stored_definition():
    spec = competition_spec(opens_at=datetime(2026, 3, 1, 9, 0), closes_at=date(2026, 3, 31))
    assert spec.option("opens_at") == "2026-03-01T09:00:00"
    assert spec.option("closes_at") == "2026-03-31"
    assert spec_from_definition(spec.definition) == spec


class TestConsole:
    def test_the_dashboard_shows_entries_and_the_latest_draw_without_numbers(
        self, competition_app, client, runner
    ):
        from tests.console_support import create_console_user, log_in

        enter_many(competition_app, 3)
        runner.invoke(args=["competitions", "draw", "bike", "--winners", "2", "--seed", "a"])
        create_console_user(competition_app)
        assert log_in(client).status_code == 302
        page = client.get("/admin/").get_data(as_text=True)
        section = page[page.index('id="competitions-heading"') :]
        row = section[section.index("Win a bike") :]
        row = row[: row.index("</tr>")]
        assert '<td class="num">3</td>' in row
        assert '<td class="num">1</td>' in row
        assert "2 winner(s)" in row
        assert "+61491570200" not in page
        assert "0491570200" not in page

    def test_without_competitions_the_dashboard_has_no_competitions_section(self, app, client):
        from tests.console_support import create_console_user, log_in

        create_console_user(app)
        log_in(client)
        assert "competitions-heading" not in client.get("/admin/").get_data(as_text=True)


class TestLandingPage:
    """A web-mode poster: the number form enters the same competition as texting the word."""

    def test_a_visitor_enters_from_the_page_and_a_text_finds_the_same_entry(
        self, competition_app, client, twilio_stand_in
    ):
        from tests.landing_pages.conftest import latest_code
        from tests.phone_visitor import PhoneVisitor

        visitor = PhoneVisitor(client)
        assert visitor.scan(slug="bike").status_code == 200
        assert "Enter the draw on this page" in visitor.text
        visitor.enter_number("0491 570 156")
        response = visitor.enter_code(latest_code(twilio_stand_in, "+61491570156"))
        assert response.status_code == 200
        assert "You're in!" in visitor.text
        assert "You're in! Entry 1." in visitor.text
        with competition_app.extensions["selfserve"].sessions() as db:
            (channel,) = db.scalars(select(CompetitionEntry.channel)).all()
        assert channel == "web"
        texter = competition_app.test_client()
        again = reply_text(send_text(texter, "BIKE", sender="+61491570156"))
        assert again == "Already in with entry 1."

    def test_a_birthday_campaign_has_no_page_to_claim_from(self, app, client):
        import_campaigns_text(
            app,
            """
[[campaign]]
slug = "bday"
name = "Birthday treat"
action = "birthday"
application_id = 1
campaign_id = 2
""",
        )
        from tests.phone_visitor import PhoneVisitor

        visitor = PhoneVisitor(client)
        assert visitor.scan(slug="bday").status_code == 404
