"""Rate limits per number and address (shared through Redis when set), and quiet logs."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace

import pytest

from app import create_app
from tests.conftest import (
    TEST_REDIS_URL,
    WITH_REDIS,
    import_campaigns_text,
)
from tests.landing_pages.conftest import (
    PHONE,
    TYPED,
    SqliteOnly,
    _spring_only,
    error_text,
    latest_code,
    wrong_code_for,
)
from tests.phone_visitor import (
    PhoneVisitor,
)


class TestRateLimits(SqliteOnly):
    @pytest.fixture
    def strict_app(self, settings):
        application = create_app(
            replace(
                settings,
                otp_limit_per_number="2 per 10 minutes",
                otp_limit_per_ip="3 per 10 minutes",
            )
        )
        import_campaigns_text(application, _spring_only())
        yield application
        application.extensions["selfserve"].close()

    def test_codes_are_limited_per_number(self, strict_app, twilio_stand_in):
        statuses = []
        for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            visitor = PhoneVisitor(strict_app.test_client(), address=address)
            visitor.scan()
            statuses.append(visitor.enter_number(TYPED).status_code)
        assert statuses == [200, 200, 429]
        assert "Please wait 10 minutes" in error_text(visitor.page)
        assert len(twilio_stand_in.messages_to(PHONE)) == 2

    def test_codes_are_limited_per_client_address(self, strict_app, twilio_stand_in):
        visitor = PhoneVisitor(strict_app.test_client(), address="198.51.100.9")
        visitor.scan()
        statuses = []
        for last in range(4):
            visitor.scan()
            statuses.append(visitor.enter_number(f"0491 570 1{last}0").status_code)
        assert statuses == [200, 200, 200, 429]
        assert len(twilio_stand_in.messages) == 3
        other = PhoneVisitor(strict_app.test_client(), address="198.51.100.10")
        other.scan()
        assert other.enter_number("0491 570 199").status_code == 200

    def test_refused_numbers_do_not_use_up_the_allowance(self, strict_app, twilio_stand_in):
        visitor = PhoneVisitor(strict_app.test_client(), address="198.51.100.20")
        visitor.scan()
        for hostile in ("<script>", "+44 7400 123456", "02 9876 5432", "x" * 50):
            assert visitor.enter_number(hostile).status_code in (400, 422)
        for last in range(3):
            visitor.scan()
            assert visitor.enter_number(f"0491 570 2{last}0").status_code == 200

    def test_a_limited_answer_says_when_to_come_back(self, strict_app, twilio_stand_in):
        visitor = PhoneVisitor(strict_app.test_client(), address="198.51.100.30")
        for _ in range(2):
            visitor.scan()
            visitor.enter_number(TYPED)
        visitor.scan()
        response = visitor.enter_number(TYPED)
        assert response.status_code == 429
        assert 500 <= int(response.headers["Retry-After"]) <= 600


if WITH_REDIS:  # Redis variants: when TEST_REDIS_URL is set, and always on CI (conftest)

    @pytest.mark.needs_redis
    class TestRateLimitsSharedThroughRedis(SqliteOnly):
        def test_two_app_processes_share_the_per_number_limit(self, settings, twilio_stand_in):
            shared = replace(
                settings,
                redis_url=TEST_REDIS_URL,
                secret_key=secrets.token_hex(16),  # fresh counter keys for this run
                otp_limit_per_number="1 per 10 minutes",
            )
            first, second = create_app(shared), create_app(shared)
            try:
                for application in (first, second):
                    import_campaigns_text(application, _spring_only())
                address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.1"
                one = PhoneVisitor(first.test_client(), address=address)
                one.scan()
                assert one.enter_number(TYPED).status_code == 200
                other = PhoneVisitor(second.test_client(), address="10.255.255.254")
                other.scan()
                assert other.enter_number(TYPED).status_code == 429
                assert len(twilio_stand_in.messages_to(PHONE)) == 1
            finally:
                first.extensions["selfserve"].close()
                second.extensions["selfserve"].close()


class TestLogs(SqliteOnly):
    def test_no_full_number_or_one_time_code_reaches_the_log(
        self, visitor, twilio_stand_in, caplog
    ):
        with caplog.at_level(logging.DEBUG):
            visitor.scan()
            visitor.enter_number(TYPED)
            code = latest_code(twilio_stand_in)
            visitor.enter_code(wrong_code_for(code))
            visitor.enter_code(code)
        text = "\n".join(
            f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name != "werkzeug"
        )
        assert "otp_sent" in text
        assert "491570156" not in text
        assert code not in text
