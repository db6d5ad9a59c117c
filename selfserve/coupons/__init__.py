"""coupons."""

from selfserve.coupons.codes import (
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
from selfserve.coupons.replies import (
    code_reply,
)

__all__ = [
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
    "code_reply",
    "find_issued_code",
    "set_inbound_outcome",
    "settle_answered_inline",
]
