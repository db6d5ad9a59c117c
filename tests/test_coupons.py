"""selfserve.coupons, the one place a code is claimed: remembered codes, remembering once,
owing a code Talon.One cannot give now (against the Talon.One stand-in on a real socket)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from selfserve.coupons import Coupons, Deferred, Issued, Refused, find_issued_code
from selfserve.models import IssuedCoupon

IDENTIFIER = "C-1:34"


@pytest.fixture
def services(app):
    return app.extensions["selfserve"]


@pytest.fixture
def spring(services):
    return services.campaigns.by_slug("spring")


def test_a_remembered_code_is_given_without_asking_talon_again(services, spring, talon_stand_in):
    first = services.worker_coupons.issue(spring, "C-1", IDENTIFIER)
    again = services.worker_coupons.issue(spring, "C-1", IDENTIFIER)
    assert first.fresh
    assert not again.fresh
    assert again.code == first.code
    assert len(talon_stand_in.coupon_requests()) == 1


def test_the_remembered_code_is_talon_ones_with_its_id_and_dates_in_utc(
    services, spring, talon_stand_in
):
    issued = services.worker_coupons.issue(spring, "C-1", IDENTIFIER)
    [stored] = talon_stand_in.coupons.values()
    with services.sessions() as db:
        row = db.scalars(select(IssuedCoupon)).one()
        assert find_issued_code(db, "spring", IDENTIFIER) == issued.__class__(
            issued.code, issued.expires_at, issued.starts_at, fresh=False
        )
        assert find_issued_code(db, "spring", "C-2:34") is None
        assert find_issued_code(db, "other", IDENTIFIER) is None
    assert (row.code, row.talon_coupon_id, row.customer_id) == (
        stored["Value"],
        stored["ID"],
        "C-1",
    )
    assert (row.campaign_slug, row.identifier) == ("spring", IDENTIFIER)
    # Talon.One's +02:00 times, kept and answered as the same instants in UTC.
    assert issued.starts_at == datetime(2025, 12, 31, 22, 0, tzinfo=UTC)
    assert issued.expires_at == datetime(2026, 12, 31, 21, 59, 59, tzinfo=UTC)
    assert issued.starts_at.tzinfo is UTC
    assert issued.expires_at.tzinfo is UTC


def test_a_code_another_process_stored_first_is_the_one_answered(services, spring, talon_stand_in):
    """Talon.One gave us a code while another process stored one for the identifier: ours is
    dropped and theirs answered, so a customer never sees two codes."""
    with services.sessions.begin() as db:
        db.add(
            IssuedCoupon(
                campaign_slug="spring",
                identifier=IDENTIFIER,
                customer_id="C-1",
                code="THEIRS-1",
                issued_at=datetime.now(UTC),
            )
        )
    issued = services.worker_coupons.issue(spring, "C-1", IDENTIFIER, known_missing=True)
    assert issued.code == "THEIRS-1"
    assert len(talon_stand_in.coupon_requests()) == 1


def test_a_claim_talon_cannot_serve_is_owed_then_paused_then_asked_again(
    services, spring, talon_stand_in
):
    talon_stand_in.down = True
    # As the webhook's: it may owe (a queue takes the job), and pauses after a failure.
    coupons = Coupons(
        services.sessions,
        services.talon,
        code_pages=services.coupons.code_pages,
        enqueue_owed=lambda deferred_id, attempt: None,
        pause_after_failure_seconds=60,
    )
    first = coupons.claim(spring, "C-1", IDENTIFIER, may_owe=True)
    assert isinstance(first, Deferred)
    asked = len(talon_stand_in.coupon_requests())
    talon_stand_in.down = False
    paused = coupons.claim(spring, "C-1", IDENTIFIER, may_owe=True)
    assert isinstance(paused, Deferred)  # within TALON_INLINE_PAUSE_SECONDS: not asked
    assert len(talon_stand_in.coupon_requests()) == asked
    refused_not_owed = coupons.claim(spring, "C-1", IDENTIFIER, may_owe=False)
    assert isinstance(refused_not_owed, Issued)  # the pause only holds back claims it may owe


def test_a_configuration_error_is_refused_not_owed(services, talon_stand_in):
    broken = services.campaigns.by_slug("broken")
    result = services.coupons.claim(broken, "C-1", "C-1:404", may_owe=True)
    assert isinstance(result, Refused)
    assert result.outcome == "failed"
