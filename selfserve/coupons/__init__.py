"""Coupons: "this person, this campaign → their code", in one place.

Owns the claim: find the remembered code; otherwise ask Talon.One (through the budget),
remember the answer exactly once, or owe it when Talon.One is slow, down or over budget
(the `deferred_codes` rows); the identifier of a claim and the reply around a code. This is
the only package that calls the Talon.One client's coupon endpoint. It may import
`campaigns`, `sms`, `customers`, `talon`, `ops`, `models` and `errors`.
"""

from selfserve.coupons.burst_plan import BurstPlan, plan_burst
from selfserve.coupons.codes import (
    Coupons,
    Deferred,
    Issued,
    IssuedCode,
    find_issued_code,
    take_warm_code,
)
from selfserve.coupons.deferrals import (
    DEFERRED_OUTCOME,
    FAILED,
    OPTED_OUT,
    PENDING,
    SMS_QUEUED,
    Deferral,
    set_inbound_outcome,
    settle_answered_inline,
)
from selfserve.coupons.replies import code_reply
from selfserve.coupons.warm_up import WarmPlan, WarmReport, WarmUps

__all__ = [
    "BurstPlan",
    "Coupons",
    "DEFERRED_OUTCOME",
    "Deferral",
    "Deferred",
    "FAILED",
    "Issued",
    "IssuedCode",
    "OPTED_OUT",
    "PENDING",
    "SMS_QUEUED",
    "WarmPlan",
    "WarmReport",
    "WarmUps",
    "code_reply",
    "find_issued_code",
    "plan_burst",
    "set_inbound_outcome",
    "settle_answered_inline",
    "take_warm_code",
]
