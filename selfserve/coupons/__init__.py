"""Coupons: "this person, this campaign → their code", in one place.

Owns the claim: find the remembered code; otherwise check the per-person caps, ask
Talon.One (through the budget), remember the answer exactly once, or owe it when Talon.One
is slow, down or over budget (the `deferred_codes` rows); warm-ups that fetch directory
customers' codes ahead with a share of the budget; the identifier of a claim, the reply
around a code, the code's page (its token and link), and an advocate's referral code
(remembered once, like a coupon); where each code came from (its first touch), and which
codes were redeemed (the redemption sync over Talon.One's Management API). This is the only
package that calls the Talon.One client's coupon and referral endpoints. It may import
`campaigns`, `sms`, `customers`, `talon`, `ops`, `models` and `errors`.
"""

from selfserve.coupons.burst_plan import BurstPlan, plan_burst
from selfserve.coupons.code_pages import CodePage, CodePages, code_page_links
from selfserve.coupons.codes import OWED_WITH_REFERRAL, Coupons
from selfserve.coupons.deferrals import (
    DEFERRED_OUTCOME,
    FAILED,
    OPTED_OUT,
    OWED_COUPON,
    OWED_REFERRAL_CODE,
    OWED_REFERRAL_COUPON,
    PENDING,
    SMS_QUEUED,
    Deferral,
    is_owed,
    owed_with_referral,
    set_inbound_outcome,
    settle_answered_inline,
)
from selfserve.coupons.issued import (
    BIRTHDAY,
    LANDING,
    REFERRAL,
    REFERRAL_TOUCH,
    TEXT,
    WARM_UP,
    ClaimResult,
    CodeCaps,
    Deferred,
    Issued,
    IssuedCode,
    Refused,
    Touch,
    find_issued_code,
    take_warm_code,
)
from selfserve.coupons.redeemed import SyncStatus, redeemed_on, sync_status
from selfserve.coupons.redemptions import RedemptionSync, SyncSummary, Window
from selfserve.coupons.referrals import (
    ReferralCodes,
    StoredReferral,
    find_advocate_referral,
    find_referral,
    find_referral_by_id,
    is_expired,
    referral_code_key,
    referral_uses,
)
from selfserve.coupons.replies import code_reply
from selfserve.coupons.warm_up import WarmPlan, WarmReport, WarmUps

__all__ = [
    "BIRTHDAY",
    "BurstPlan",
    "ClaimResult",
    "CodeCaps",
    "CodePage",
    "CodePages",
    "Coupons",
    "DEFERRED_OUTCOME",
    "Deferral",
    "Deferred",
    "FAILED",
    "Issued",
    "IssuedCode",
    "LANDING",
    "OPTED_OUT",
    "OWED_COUPON",
    "OWED_REFERRAL_CODE",
    "OWED_REFERRAL_COUPON",
    "OWED_WITH_REFERRAL",
    "PENDING",
    "REFERRAL",
    "REFERRAL_TOUCH",
    "RedemptionSync",
    "ReferralCodes",
    "Refused",
    "SMS_QUEUED",
    "StoredReferral",
    "SyncStatus",
    "SyncSummary",
    "TEXT",
    "Touch",
    "WARM_UP",
    "WarmPlan",
    "WarmReport",
    "WarmUps",
    "Window",
    "code_page_links",
    "code_reply",
    "find_advocate_referral",
    "find_issued_code",
    "find_referral",
    "find_referral_by_id",
    "is_expired",
    "is_owed",
    "owed_with_referral",
    "plan_burst",
    "redeemed_on",
    "referral_code_key",
    "referral_uses",
    "set_inbound_outcome",
    "settle_answered_inline",
    "sync_status",
    "take_warm_code",
]
