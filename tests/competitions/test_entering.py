"""Entering a competition by text: opening and closing times, and entries that race."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from selfserve.journeys import (
    CLOSED,
    ENTERED,
    NOT_OPEN,
    answer_competition_text,
    enter_competition,
)
from tests.competitions.conftest import (
    COMPETITION,
    WEBHOOK,
    competition_spec,
    entries,
)
from tests.conftest import (
    import_campaigns_text,
    inbound_form,
    reply_text,
    send_text,
    signature_for,
    wait_for,
)


class TestEnteringByText:
    def test_a_text_enters_the_competition_with_entry_number_one(self, competition_app, client):
        reply = reply_text(send_text(client, "bike"))
        assert reply.startswith("You're in! Entry 1. Draw after ")
        assert [row.entry_number for row in entries(competition_app)] == [1]

    def test_a_second_text_says_already_in_and_makes_no_second_entry(self, competition_app, client):
        send_text(client, "BIKE")
        assert reply_text(send_text(client, "bike!")) == "Already in with entry 1."
        assert len(entries(competition_app)) == 1

    def test_entry_numbers_follow_the_order_of_entry_without_gaps(self, competition_app, client):
        senders = ["+61491570101", "+61491570102", "+61491570101", "+61491570103"]
        replies = [reply_text(send_text(client, "BIKE", sender=s)) for s in senders]
        assert replies[0].startswith("You're in! Entry 1.")
        assert replies[1].startswith("You're in! Entry 2.")
        assert replies[2] == "Already in with entry 1."
        assert replies[3].startswith("You're in! Entry 3.")
        assert [row.entry_number for row in entries(competition_app)] == [1, 2, 3]

    def test_the_closing_date_is_shown_in_the_campaigns_time_zone(self, app, client):
        import_campaigns_text(
            app,
            COMPETITION.format(closes="2099-03-31T23:30:00+00:00").replace(
                'action = "competition"', 'action = "competition"\ntimezone = "Australia/Sydney"'
            ),
        )
        # 23:30 UTC on 31 March is already 1 April in Sydney.
        assert reply_text(send_text(client, "BIKE")).endswith("Draw after 01 Apr 2099.")

    def test_an_opted_out_number_cannot_enter(self, competition_app, client):
        send_text(client, "STOP")
        assert reply_text(send_text(client, "BIKE")) is None
        assert entries(competition_app) == []

    def test_also_coupon_issues_the_campaigns_coupon_with_the_entry(
        self, app, client, talon_stand_in
    ):
        import_campaigns_text(
            app,
            """
[[campaign]]
slug = "bike"
name = "Win a bike"
keywords = ["BIKE"]
action = "competition"
also_coupon = true
application_id = 12
campaign_id = 77
""",
        )
        first = reply_text(send_text(client, "BIKE"))
        assert first.startswith("You're in the Win a bike draw (entry 1). Your code: T1-")
        code = first.split("Your code: ")[1].split(".")[0]
        again = reply_text(send_text(client, "BIKE"))
        assert again == (
            "You're already in the Win a bike draw with entry number 1. Good luck! "
            f"Your code: {code}."
        )
        requests = talon_stand_in.coupon_requests()
        assert len(requests) == 1
        assert requests[0].args["campaignId"] == "77"
        assert requests[0].args["identifier"].endswith(":77")

    def test_also_coupon_keeps_the_entry_and_texts_the_code_when_talon_is_back(
        self, app, client, talon_stand_in, twilio_stand_in, worker
    ):
        import_campaigns_text(
            app,
            """
[[campaign]]
slug = "bike"
name = "Win a bike"
keywords = ["BIKE"]
action = "competition"
also_coupon = true
application_id = 12
campaign_id = 77
reply = "Entry {entry_number} is in. Your code: {code}"
""",
        )
        talon_stand_in.down = True
        sender = "+61491570156"
        reply = reply_text(send_text(client, "BIKE", sender=sender))
        assert reply == "You're in! We'll text your code in a few minutes."
        assert len(entries(app)) == 1
        talon_stand_in.down = False
        (message,) = wait_for(lambda: twilio_stand_in.messages_to(sender), what="the code")
        assert message.body.startswith("Entry 1 is in. Your code: T1-")


class TestOpeningAndClosing:
    def test_before_opens_at_the_reply_says_when_it_opens(self, app, client):
        opens = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
        import_campaigns_text(
            app,
            f"""
[[campaign]]
slug = "bike"
name = "Win a bike"
keywords = ["BIKE"]
action = "competition"
timezone = "UTC"
opens_at = {opens.isoformat()}
""",
        )
        reply = reply_text(send_text(client, "BIKE"))
        assert reply == f"Win a bike opens on {opens:%d %b at %H:%M}. Text us again then!"
        assert entries(app) == []

    def test_after_closes_at_the_reply_says_it_closed(self, app, client):
        import_campaigns_text(
            app,
            """
[[campaign]]
slug = "bike"
name = "Win a bike"
keywords = ["BIKE"]
action = "competition"
closes_at = 2020-01-31
closed_reply = "{name} closed on {closes:%d %B}, sorry."
""",
        )
        assert reply_text(send_text(client, "BIKE")) == "Win a bike closed on 01 February, sorry."
        assert entries(app) == []

    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            (datetime(2026, 3, 1, 8, 59, 59, tzinfo=ZoneInfo("Australia/Sydney")), NOT_OPEN),
            (datetime(2026, 3, 1, 9, 0, 0, tzinfo=ZoneInfo("Australia/Sydney")), ENTERED),
            (datetime(2026, 3, 31, 23, 59, 59, tzinfo=ZoneInfo("Australia/Sydney")), ENTERED),
            (datetime(2026, 4, 1, 0, 0, 0, tzinfo=ZoneInfo("Australia/Sydney")), CLOSED),
            (datetime(2026, 3, 31, 13, 0, 0, tzinfo=UTC), CLOSED),  # midnight in Sydney
        ],
    )
    def test_local_opening_and_closing_times_are_honoured_to_the_second(self, app, now, expected):
        # A bare date closes at the end of that day; naive times are the campaign's local time.
        campaign = competition_spec(opens_at="2026-03-01T09:00:00", closes_at="2026-03-31")
        with app.extensions["selfserve"].writes.begin() as db:
            answer = answer_competition_text(db, campaign, "+61491570156", "C1", now, "AU")
        assert answer.outcome == expected

    def test_without_a_timezone_the_default_region_decides(self, app):
        campaign = competition_spec(closes_at="2026-03-31")
        now = datetime(2026, 3, 31, 13, 30, tzinfo=UTC)  # 00:30 on 1 April in Sydney
        with app.extensions["selfserve"].writes.begin() as db:
            in_sydney = answer_competition_text(db, campaign, "+61491570156", "C1", now, "AU")
            in_london = answer_competition_text(db, campaign, "+61491570156", "C1", now, "GB")
        assert in_sydney.outcome == CLOSED
        assert in_london.outcome == ENTERED


class TestRaces:
    def test_two_texts_from_one_number_at_once_make_one_entry(self, competition_app, live_app):
        replies: list[str] = []
        barrier = threading.Barrier(6)

        def text_in() -> None:
            form = inbound_form("BIKE", sender="+61491570177")
            headers = {"X-Twilio-Signature": signature_for(WEBHOOK, form)}
            barrier.wait(timeout=10)
            answer = httpx.post(live_app.url + WEBHOOK, data=form, headers=headers, timeout=20)
            assert answer.status_code == 200
            replies.append(answer.text)

        threads = [threading.Thread(target=text_in) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(replies) == 6
        assert len(entries(competition_app)) == 1
        assert sum("You're in! Entry 1." in reply for reply in replies) == 1
        assert sum("Already in with entry 1." in reply for reply in replies) == 5

    def test_concurrent_sessions_number_entries_uniquely(self, competition_app):
        """Many customers and duplicates at once, straight on the database: no gaps, no twins."""
        sessions = competition_app.extensions["selfserve"].sessions
        barrier = threading.Barrier(8)
        results: list[tuple[str, int, bool]] = []
        errors: list[BaseException] = []

        def enter(customer: str) -> None:
            try:
                barrier.wait(timeout=10)
                with sessions.begin() as db:
                    entry = enter_competition(
                        db, "bike", customer, "+61491570100", now=datetime.now(UTC)
                    )
                results.append((customer, entry.entry_number, entry.is_new))
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)

        customers = ["A", "B", "C", "D", "A", "B", "A", "E"]
        threads = [threading.Thread(target=enter, args=(c,)) for c in customers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        numbers = {row.customer_id: row.entry_number for row in entries(competition_app)}
        assert sorted(numbers.values()) == [1, 2, 3, 4, 5]
        assert sum(is_new for _, _, is_new in results) == 5
        for customer, number, _ in results:
            assert numbers[customer] == number
