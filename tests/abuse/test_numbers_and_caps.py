"""SMS pumping by number ranges, and per-person code caps."""

from __future__ import annotations

import logging
import re

from sqlalchemy import event

from tests.abuse.conftest import (
    SqliteOnly,
    abuse_counts,
    error_text,
)
from tests.conftest import (
    reply_text,
    send_text,
)
from tests.phone_visitor import PhoneVisitor


class TestNumberRanges(SqliteOnly):
    def test_a_pumped_range_gets_ten_codes_and_other_ranges_still_get_theirs(
        self, make_app, twilio_stand_in, caplog
    ):
        application = make_app(otp_limit_per_ip="1000 per minute")
        statuses = []
        with caplog.at_level(logging.WARNING):
            for last in range(30):  # +61491570100 … +61491570129: one range
                visitor = PhoneVisitor(application.test_client(), address=f"198.51.100.{last}")
                visitor.scan()
                statuses.append(visitor.enter_number(f"0491 570 1{last:02d}").status_code)
        sent = [m for m in twilio_stand_in.messages if m.to.startswith("+614915701")]
        assert len(sent) == 10
        assert statuses[:10] == [200] * 10
        assert set(statuses[10:]) == {403}
        assert "can't send a code to this number right now" in error_text(visitor.page)
        assert "Text SPRING to" in error_text(visitor.page)
        blocks = [r for r in caplog.records if r.getMessage() == "sms_pumping_range_blocked"]
        assert len(blocks) == 1  # one warning for the block, not one per refusal
        assert "0491570" not in caplog.text
        assert "+614915701" not in caplog.text
        assert abuse_counts(application, "range_blocked") == 1

        other = PhoneVisitor(application.test_client(), address="203.0.113.99")
        other.scan()
        assert other.enter_number("0491 570 200").status_code == 200
        assert twilio_stand_in.messages_to("+61491570200")

    def test_blocks_are_counted_in_metrics(self, make_app, twilio_stand_in):
        application = make_app(otp_limit_per_ip="1000 per minute", otp_limit_per_range="2 per hour")

        def blocks() -> float:
            text = application.test_client().get("/metrics").get_data(as_text=True)
            match = re.search(r"^selfserve_sms_pumping_blocks_total (\S+)$", text, re.M)
            assert match, "the counter is missing from /metrics"
            return float(match.group(1))

        before = blocks()
        for last in range(4):
            visitor = PhoneVisitor(application.test_client(), address=f"198.51.100.{last}")
            visitor.scan()
            visitor.enter_number(f"0491 570 3{last:02d}")
        assert blocks() == before + 1
        assert len(twilio_stand_in.messages) == 2

    def test_range_digits_zero_turns_the_range_limit_off(self, make_app, twilio_stand_in):
        application = make_app(
            otp_limit_per_ip="1000 per minute", otp_limit_per_range="2 per hour", otp_range_digits=0
        )
        for last in range(4):
            visitor = PhoneVisitor(application.test_client(), address=f"198.51.100.{last}")
            visitor.scan()
            assert visitor.enter_number(f"0491 570 4{last:02d}").status_code == 200
        assert len(twilio_stand_in.messages) == 4


class TestCodeCaps:
    def test_a_new_code_over_the_daily_cap_is_refused_but_a_known_one_is_given(
        self, make_app, talon_stand_in
    ):
        client = make_app(max_new_codes_per_number_per_day=2).test_client()
        first = reply_text(send_text(client, "SUMMER"))
        assert "Your Summer code:" in first
        assert "Your Autumn code:" in reply_text(send_text(client, "AUTUMN"))
        calls = len(talon_stand_in.coupon_requests())
        refused = reply_text(send_text(client, "WINTER"))
        assert "all the new codes" in refused
        assert len(talon_stand_in.coupon_requests()) == calls  # no Talon.One call
        assert reply_text(send_text(client, "SUMMER")) == first
        other = reply_text(send_text(client, "WINTER", sender="+61491570157"))
        assert "Your Winter code:" in other

    def test_a_campaign_can_cap_its_own_new_codes_per_person(self, make_app, talon_stand_in):
        application = make_app()
        client = application.test_client()
        assert "Your Spring code:" in reply_text(send_text(client, "SPRING"))
        calls = len(talon_stand_in.coupon_requests())
        assert "all the new codes" in reply_text(send_text(client, "BLOOM"))
        assert len(talon_stand_in.coupon_requests()) == calls
        assert abuse_counts(application, "cap_refused") == 1

    def test_only_a_customer_who_holds_codes_has_them_counted(self, make_app, talon_stand_in):
        # The fast path's read says whether the customer holds any code: a first code can
        # reach no cap, so it is not counted (one statement less per new customer).
        application = make_app(max_new_codes_per_number_per_day=2)
        counts: list[str] = []

        def remember_counts(connection, cursor, statement, *args):
            if "count(" in statement.lower() and "issued_coupons" in statement:
                counts.append(statement)

        engine = application.extensions["selfserve"].engine
        event.listen(engine, "before_cursor_execute", remember_counts)
        try:
            client = application.test_client()
            assert "Your Summer code:" in reply_text(send_text(client, "SUMMER"))
            assert counts == []
            assert "Your Autumn code:" in reply_text(send_text(client, "AUTUMN"))
            assert counts != []
        finally:
            event.remove(engine, "before_cursor_execute", remember_counts)

    def test_the_landing_page_says_so_politely(self, make_app, twilio_stand_in, talon_stand_in):
        application = make_app(max_new_codes_per_number_per_day=1)
        send_text(application.test_client(), "SUMMER")
        visitor = PhoneVisitor(application.test_client())
        visitor.scan("autumn")
        visitor.enter_number("0491 570 156")
        code = re.search(r"\b(\d{6})\b", twilio_stand_in.messages_to("+61491570156")[-1].body)
        assert code
        calls = len(talon_stand_in.coupon_requests())
        response = visitor.enter_code(code.group(1))
        assert response.status_code == 429
        assert "all the new codes" in visitor.text
        assert len(talon_stand_in.coupon_requests()) == calls
