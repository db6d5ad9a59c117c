"""Talon.One: the customer-engagement (CEP) client and the shared call budget.

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

__all__ = [
    "Coupon",
    "HttpRequests",
    "OneConnectionTransports",
    "CouponRequest",
    "LoyaltyBalance",
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
