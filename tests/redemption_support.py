"""Shared by the redemption tests: an app whose redemption sync reads the Management stand-in,
codes issued through the app, and a sync whose waits are recorded instead of slept."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from flask import Flask
from sqlalchemy import select

from selfserve.coupons import RedemptionSync, Touch
from selfserve.models import CouponRedemption, IssuedCoupon, utcnow
from selfserve.talon import ManagementClient
from tests.stand_ins.talon_management import MANAGEMENT_KEY, TalonManagementStandIn

APPLICATION_ID, TALON_CAMPAIGN_ID = 12, 34  # the spring campaign of SPRING_CAMPAIGNS


def issue_code(app: Flask, customer_id: str, touch: Touch, slug: str = "spring") -> str:
    """A code issued through the app (the CEP stand-in makes it), kept with its touch."""
    services = app.extensions["selfserve"]
    campaign = services.campaigns.by_slug(slug)
    return services.coupons.issue(campaign, customer_id, f"{customer_id}:34", touch=touch).code


class Waits:
    """Stands in for time.sleep: records each wait, sleeps none."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def fast_sync(
    app: Flask,
    stand_in: TalonManagementStandIn,
    waits: Waits,
    chunk: timedelta = timedelta(days=15),
    **client: Any,
) -> RedemptionSync:
    """A sync over the app's database whose client records its waits instead of sleeping
    (so the stand-in's 3 requests per second are off: `test_talon_management.py` keeps them)."""
    stand_in.requests_per_second = None
    services = app.extensions["selfserve"]
    management = ManagementClient(
        stand_in.url,  # type: ignore[attr-defined]
        MANAGEMENT_KEY,
        httpx.Client(timeout=10),
        requests_per_second=1000,
        sleep=waits,
        **client,
    )
    return RedemptionSync(services.writes, services.campaigns, management, chunk=chunk)


def redemptions(app: Flask) -> list[CouponRedemption]:
    """Every coupon_redemptions row."""
    with app.extensions["selfserve"].sessions() as db:
        return list(db.scalars(select(CouponRedemption).order_by(CouponRedemption.id)))


def live_codes(app: Flask) -> set[str]:
    """The codes redeemed and not rolled back."""
    with app.extensions["selfserve"].sessions() as db:
        return set(
            db.scalars(
                select(IssuedCoupon.code)
                .join(CouponRedemption, CouponRedemption.issued_coupon_id == IssuedCoupon.id)
                .where(CouponRedemption.rolled_back_at.is_(None))
            )
        )


def ago(**delta: float) -> datetime:
    """A moment that long before now (UTC)."""
    return utcnow() - timedelta(**delta)
