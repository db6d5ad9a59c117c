"""Coupons: "this person, this campaign → their code", in one place.

Owns the claim: find the remembered code; otherwise ask Talon.One (through the budget),
remember the answer exactly once, or owe it when Talon.One is slow, down or over budget
(the `deferred_codes` rows); the identifier of a claim and the reply around a code. This is
the only package that calls the Talon.One client's coupon endpoint. It may import
`campaigns`, `sms`, `customers`, `talon`, `ops`, `models` and `errors`.
"""

from selfserve.coupons.codes import (
    ClaimResult,
    Coupons,
    Deferred,
    Issued,
    IssuedCode,
    find_issued_code,
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
from selfserve.coupons.referrals import (
    ReferralCodes,
    StoredReferral,
    find_advocate_referral,
    find_referral,
    is_expired,
    referral_code_key,
    referral_uses,
)
from selfserve.coupons.replies import code_reply

__all__ = [
    "ClaimResult",
    "Coupons",
    "DEFERRED_OUTCOME",
    "Deferral",
    "Deferred",
    "FAILED",
    "Issued",
    "IssuedCode",
    "OPTED_OUT",
    "PENDING",
    "ReferralCodes",
    "SMS_QUEUED",
    "StoredReferral",
    "code_reply",
    "find_advocate_referral",
    "find_issued_code",
    "find_referral",
    "is_expired",
    "referral_code_key",
    "referral_uses",
    "set_inbound_outcome",
    "settle_answered_inline",
]
