"""The funnel's arithmetic (console/funnel.py): time to redeem, rollbacks, texts against
pages, visits per poster, and the days of the chart, from rows a test writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert

from selfserve.console import redemption_funnel
from selfserve.models import CouponRedemption, IssuedCoupon, LandingVisit

NOW = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)


def add_code(
    db,
    number: int,
    issued_days_ago: float,
    *,
    channel="landing",
    source="station",
    keyword=None,
    redeemed_after_days=None,
    revenue="0",
    rolled_back=False,
) -> None:
    issued_at = NOW - timedelta(days=issued_days_ago)
    coupon_id = db.execute(
        insert(IssuedCoupon).returning(IssuedCoupon.id),
        {
            "campaign_slug": "spring",
            "identifier": f"id-{number}",
            "customer_id": f"c-{number}",
            "code": f"CODE-{number}",
            "issued_at": issued_at,
            "channel": channel,
            "source": source,
            "keyword": keyword,
        },
    ).scalar_one()
    if redeemed_after_days is not None:
        redeemed_at = issued_at + timedelta(days=redeemed_after_days)
        db.execute(
            insert(CouponRedemption),
            {
                "issued_coupon_id": coupon_id,
                "session_integration_id": f"s-{number}",
                "redeemed_at": redeemed_at,
                "rolled_back_at": redeemed_at if rolled_back else None,
                "total_revenue": Decimal(revenue),
                "synced_at": NOW,
            },
        )


def test_time_to_redeem_rollbacks_and_revenue(app):
    with app.extensions["selfserve"].sessions.begin() as db:
        add_code(db, 1, 0.2, redeemed_after_days=0.1, revenue="10.10")  # same day
        add_code(db, 2, 5, redeemed_after_days=3, revenue="20")  # within 7 days
        add_code(db, 3, 60, redeemed_after_days=20, revenue="30")  # within 30
        add_code(db, 4, 80, redeemed_after_days=45, revenue="40")  # later
        add_code(db, 5, 2, redeemed_after_days=1, revenue="99", rolled_back=True)
        add_code(db, 6, 1, channel="text", source=None, keyword="SPRING")
        db.execute(
            insert(LandingVisit),
            [
                {"campaign_slug": "spring", "source": "station", "day": NOW.date(), "visits": 9},
                {"campaign_slug": "spring", "source": "mall", "day": NOW.date(), "visits": 4},
            ],
        )
        funnel = redemption_funnel(db, NOW, days=90)

    [overall] = funnel.of("spring")
    assert (overall.codes_issued, overall.codes_by_text, overall.codes_on_pages) == (6, 1, 5)
    assert overall.redeemed == 4
    assert overall.revenue == Decimal("100.10")
    assert (overall.same_day, overall.within_7_days, overall.within_30_days, overall.later) == (
        1,
        1,
        1,
        1,
    )
    assert overall.landing_visits == 13
    sources = {row.value: row for row in funnel.of("spring", "source")}
    assert (sources["station"].codes_issued, sources["station"].redeemed) == (5, 4)
    assert sources["station"].landing_visits == 9
    assert sources["mall"].codes_issued == 0
    assert sources["mall"].landing_visits == 4
    assert sources[""].redemption_rate == 0
    [keyword] = [row for row in funnel.of("spring", "keyword") if row.value == "SPRING"]
    assert keyword.landing_visits is None
    assert funnel.total.redeemed == 4
    days = {pair.day: pair for pair in funnel.days["spring"]}
    assert days[NOW.date()].redeemed == 1  # code 1; code 5's redemption was rolled back
    assert len(funnel.days["spring"]) == 90


def test_a_shorter_window_counts_only_the_codes_issued_in_it(app):
    with app.extensions["selfserve"].sessions.begin() as db:
        add_code(db, 1, 1, redeemed_after_days=0.5, revenue="5")
        add_code(
            db, 2, 40, redeemed_after_days=39.5, revenue="7"
        )  # redeemed today, issued long ago
        funnel = redemption_funnel(db, NOW, days=7)

    [overall] = funnel.of("spring")
    assert (overall.codes_issued, overall.redeemed, overall.revenue) == (1, 1, Decimal("5.00"))
