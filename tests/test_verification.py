"""One-time codes and their send throttles, below the pages: hashing, expiry, lockout, races."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from selfserve.errors import (
    SettingsError,
    TooManyCodeRequests,
    VerificationExpired,
    VerificationFailed,
    VerificationLocked,
    VerificationMissing,
)
from selfserve.landing import (
    KEEP_ROWS_FOR,
    OneTimeCodes,
    SendThrottle,
    normalise_code,
    random_code,
)
from selfserve.models import PhoneVerification, utcnow
from selfserve.ops import Settings, build_engine, build_sessionmaker
from tests.conftest import TEST_REDIS_URL, WITH_REDIS

PHONE = "+61491570156"
REDIS_STORE = TEST_REDIS_URL or "redis://unset"  # unset on CI: the test fails at set-up
STORES = ["memory://"] + ([REDIS_STORE] if WITH_REDIS else [])


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now


@pytest.fixture
def sessions(database_url):
    engine = build_engine(database_url)
    yield build_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def codes(clock) -> OneTimeCodes:
    return OneTimeCodes("app-secret", clock=clock, new_code=lambda: "123456")


def start(sessions, codes, phone=PHONE, campaign="spring"):
    with sessions.begin() as db:
        return codes.start(db, campaign, phone, "front-door")


def check(sessions, codes, token, typed):
    """One guess in its own transaction, committed even when refused (as the journey does)."""
    with sessions.begin() as db:
        try:
            return codes.check(db, token, typed)
        except (VerificationFailed, VerificationLocked, VerificationExpired) as error:
            return error


def test_codes_are_six_random_digits():
    drawn = {random_code() for _ in range(200)}
    assert all(re.fullmatch(r"\d{6}", code) for code in drawn)
    assert len(drawn) > 190


@pytest.mark.parametrize(
    ("typed", "expected"),
    [(" 123 456 ", "123456"), ("123-456", "123456"), ("１２３４５６", "123456"), ("abc", "abc")],
)
def test_typed_codes_forgive_spaces_dashes_and_wide_digits(typed, expected):
    assert normalise_code(typed) == expected


def test_only_a_keyed_hash_bound_to_the_token_is_stored(sessions, codes):
    challenge = start(sessions, codes)
    with sessions() as db:
        row = db.scalar(select(PhoneVerification))
    assert row.code_hash != "123456"
    assert "123456" not in row.code_hash
    assert row.code_hash == codes.code_hash(challenge.token, "123456")
    assert row.code_hash != codes.code_hash("another-token", "123456")
    assert row.code_hash != OneTimeCodes("other-secret").code_hash(challenge.token, "123456")


def test_the_right_code_verifies_once(sessions, codes, clock):
    challenge = start(sessions, codes)
    verified = check(sessions, codes, challenge.token, "123456")
    assert (verified.phone_e164, verified.campaign_slug, verified.source) == (
        PHONE,
        "spring",
        "front-door",
    )
    assert verified.verified_at == clock.now
    with sessions.begin() as db, pytest.raises(VerificationMissing):
        codes.check(db, challenge.token, "123456")


def test_a_code_lives_ten_minutes(sessions, codes, clock):
    challenge = start(sessions, codes)
    assert challenge.expires_at == clock.now + timedelta(minutes=10)
    clock.now += timedelta(minutes=10)
    assert isinstance(check(sessions, codes, challenge.token, "123456"), VerificationExpired)


def test_five_wrong_guesses_kill_the_code(sessions, codes):
    challenge = start(sessions, codes)
    outcomes = [check(sessions, codes, challenge.token, "000000") for _ in range(5)]
    assert [getattr(o, "attempts_left", None) for o in outcomes[:4]] == [4, 3, 2, 1]
    assert isinstance(outcomes[4], VerificationLocked)
    assert isinstance(check(sessions, codes, challenge.token, "123456"), VerificationLocked)
    with sessions() as db:
        row = db.scalar(select(PhoneVerification))
    assert (row.state, row.attempts) == ("locked", 5)


def test_the_fifth_guess_may_still_be_right(sessions, codes):
    challenge = start(sessions, codes)
    for _ in range(4):
        check(sessions, codes, challenge.token, "000000")
    assert check(sessions, codes, challenge.token, "123456").phone_e164 == PHONE


def test_simultaneous_guesses_cannot_exceed_the_limit(sessions, codes):
    challenge = start(sessions, codes)
    outcomes: list[object] = []
    barrier = threading.Barrier(12)

    def guess() -> None:
        barrier.wait()
        outcomes.append(check(sessions, codes, challenge.token, "000000"))

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(isinstance(o, VerificationFailed) for o in outcomes) == 4
    assert sum(isinstance(o, VerificationLocked) for o in outcomes) == 8
    with sessions() as db:
        assert db.scalar(select(PhoneVerification.attempts)) == 5


def test_a_new_code_for_the_same_number_and_campaign_retires_the_old_one(sessions, codes):
    first = start(sessions, codes)
    other_campaign = start(sessions, codes, campaign="points")
    second = start(sessions, codes)
    with sessions.begin() as db, pytest.raises(VerificationMissing):
        codes.check(db, first.token, "123456")
    assert check(sessions, codes, second.token, "123456").campaign_slug == "spring"
    assert check(sessions, codes, other_campaign.token, "123456").campaign_slug == "points"


def test_old_rows_and_their_numbers_are_purged(sessions, codes, clock):
    old = start(sessions, codes, phone="+61491570111")
    clock.now += KEEP_ROWS_FOR + timedelta(seconds=1)
    start(sessions, codes)
    with sessions() as db:
        phones = db.scalars(select(PhoneVerification.phone_e164)).all()
        assert codes.sent_to(db, old.token) is None
    assert phones == [PHONE]


def test_a_verification_is_shown_only_for_a_while(sessions, codes, clock):
    challenge = start(sessions, codes)
    check(sessions, codes, challenge.token, "123456")
    with sessions() as db:
        assert codes.verified(db, challenge.token, within=timedelta(hours=1)) is not None
        clock.now += timedelta(hours=1, seconds=1)
        assert codes.verified(db, challenge.token, within=timedelta(hours=1)) is None


# Named ids: the Redis URL differs between xdist workers, and every worker must collect the
# same test ids.
@pytest.fixture(params=STORES, ids=["memory", "redis"][: len(STORES)])
def store(request) -> str:
    return request.param


@pytest.fixture
def throttles() -> Iterator[list[SendThrottle]]:
    """Throttles made by a test, closed after it (a Redis one holds sockets)."""
    made: list[SendThrottle] = []
    yield made
    for made_throttle in made:
        made_throttle.close()


@pytest.fixture
def throttle(store: str, throttles: list[SendThrottle]):
    def make(per_number: str, per_address: str, namespace: str = "") -> SendThrottle:
        # A fresh namespace per test: a shared Redis keeps counters between tests and runs.
        made = SendThrottle(store, per_number, per_address, "secret", namespace or uuid.uuid4().hex)
        throttles.append(made)
        return made

    return make


def test_the_throttle_counts_per_number(throttle):
    limiter = throttle("2 per minute", "100 per minute")
    limiter.spend(PHONE, "198.51.100.1")
    limiter.spend(PHONE, "198.51.100.2")
    with pytest.raises(TooManyCodeRequests) as refused:
        limiter.spend(PHONE, "198.51.100.3")
    assert refused.value.limited_by == "number"
    assert 1 <= refused.value.retry_after_seconds <= 60
    limiter.spend("+61491570157", "198.51.100.3")


def test_the_throttle_counts_per_address(throttle):
    limiter = throttle("100 per minute", "2 per minute")
    limiter.spend("+61491570101", "198.51.100.1")
    limiter.spend("+61491570102", "198.51.100.1")
    with pytest.raises(TooManyCodeRequests) as refused:
        limiter.spend("+61491570103", "198.51.100.1")
    assert refused.value.limited_by == "address"
    limiter.spend("+61491570103", "198.51.100.2")


def test_a_refused_request_uses_up_nothing(throttle):
    limiter = throttle("1 per minute", "2 per minute")
    limiter.spend(PHONE, "198.51.100.1")
    for _ in range(3):
        with pytest.raises(TooManyCodeRequests):
            limiter.spend(PHONE, "198.51.100.1")
    limiter.spend("+61491570157", "198.51.100.1")  # the address still has one left


if WITH_REDIS:  # Redis variants: when TEST_REDIS_URL is set, and always on CI (conftest)

    @pytest.mark.parametrize("store", [REDIS_STORE], ids=["redis"])
    def test_redis_counters_are_shared_between_processes(throttle):
        namespace = uuid.uuid4().hex
        first = throttle("1 per minute", "9 per minute", namespace)
        second = throttle("1 per minute", "9 per minute", namespace)
        first.spend(PHONE, "198.51.100.1")
        with pytest.raises(TooManyCodeRequests):
            second.spend(PHONE, "198.51.100.2")

    @pytest.mark.parametrize("store", [REDIS_STORE], ids=["redis"])
    def test_the_shared_store_never_holds_a_phone_number(throttle):
        import redis

        namespace = uuid.uuid4().hex
        throttle("5 per minute", "5 per minute", namespace).spend(PHONE, "198.51.100.1")
        client = redis.Redis.from_url(TEST_REDIS_URL)
        keys = [key.decode() for key in client.keys(f"*{namespace}*")]
        client.close()
        assert keys
        assert not any("491570156" in key for key in keys)


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"otp_allowed_regions": "AU,XX"}, "OTP_ALLOWED_REGIONS"),
        ({"otp_limit_per_number": "lots"}, "OTP_LIMIT_PER_NUMBER"),
        ({"otp_limit_per_ip": "5 per fortnight"}, "OTP_LIMIT_PER_IP"),
    ],
)
def test_bad_otp_settings_stop_start_up_naming_the_variable(tmp_path, changes, variable):
    with pytest.raises(SettingsError, match=variable):
        Settings(instance_path=str(tmp_path), **changes).completed()


def test_the_allow_list_defaults_to_the_default_region(tmp_path):
    assert Settings(instance_path=str(tmp_path), default_region="NZ").otp_regions == {"NZ"}
    listed = Settings(instance_path=str(tmp_path), otp_allowed_regions=" au, nz ,")
    assert listed.otp_regions == {"AU", "NZ"}


def test_the_settings_are_read_from_the_environment(tmp_path):
    settings = Settings.from_environment(
        {
            "INSTANCE_PATH": str(tmp_path),
            "OTP_ALLOWED_REGIONS": "AU,NZ",
            "OTP_LIMIT_PER_NUMBER": "3 per hour",
            "OTP_LIMIT_PER_IP": "30 per hour",
        }
    )
    assert settings.otp_regions == {"AU", "NZ"}
    assert (settings.otp_limit_per_number, settings.otp_limit_per_ip) == (
        "3 per hour",
        "30 per hour",
    )
