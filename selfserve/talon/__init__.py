"""Talon.One: the CEP client, the shared call budget, and the Management API client.

Owns every HTTP call to Talon.One (headers, error mapping, timeouts, the `X-DRY-RUN`
switch) and the moving-window budget every process shares. Only `selfserve.coupons` asks
it for a coupon. It may import `ops`, `models` and `errors`; nothing else of selfserve.
"""

from selfserve.talon.budget import (
    MARGIN_SECONDS,
    RedisBudget,
    SqliteBudget,
    TalonBudget,
    build_budget,
)
from selfserve.talon.client import (
    Coupon,
    CouponRequest,
    LoyaltyBalance,
    Referral,
    ReferralRequest,
    TalonClient,
    log_talon_error,
)
from selfserve.talon.connections import HttpRequests, OneConnectionTransports
from selfserve.talon.management import CouponEffect, ManagementClient

__all__ = [
    "Coupon",
    "CouponEffect",
    "HttpRequests",
    "OneConnectionTransports",
    "CouponRequest",
    "LoyaltyBalance",
    "ManagementClient",
    "MARGIN_SECONDS",
    "RedisBudget",
    "Referral",
    "ReferralRequest",
    "SqliteBudget",
    "TalonBudget",
    "TalonClient",
    "build_budget",
    "log_talon_error",
]
