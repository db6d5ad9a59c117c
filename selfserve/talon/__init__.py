"""talon."""

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
    TalonClient,
    log_talon_error,
)

__all__ = [
    "Coupon",
    "CouponRequest",
    "LoyaltyBalance",
    "MARGIN_SECONDS",
    "RedisBudget",
    "SqliteBudget",
    "TalonBudget",
    "TalonClient",
    "build_budget",
    "log_talon_error",
]
