"""Coupons: "this person, this campaign → their code", in one place.

Owns the claim: find the remembered code; otherwise ask Talon.One (through the budget),
remember the answer exactly once, or owe it when Talon.One is slow, down or over budget
(the `deferred_codes` rows); the identifier of a claim, the reply around a code and the
code's page (its token and link). This is the only package that calls the Talon.One
client's coupon endpoint. It may import `campaigns`, `sms`, `customers`, `talon`, `ops`,
`models` and `errors`.
"""

from selfserve.coupons.code_pages import CodePage, CodePages
from selfserve.coupons.codes import Coupons, Deferred, Issued, IssuedCode, Refused, find_issued_code
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

__all__ = [
    "CodePage",
    "CodePages",
    "Coupons",
    "DEFERRED_OUTCOME",
    "Deferral",
    "Deferred",
    "FAILED",
    "Issued",
    "IssuedCode",
    "OPTED_OUT",
    "PENDING",
    "Refused",
    "SMS_QUEUED",
    "code_reply",
    "find_issued_code",
    "set_inbound_outcome",
    "settle_answered_inline",
]
