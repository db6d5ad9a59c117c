"""Texts: answering one inbound SMS.

Owns the MessageSid claim (a duplicate delivery gets the first reply), the returning
customer's fast path, compliance words before keyword routing, the choice of use case
(coupon, loyalty, competition, subscription), the wording of replies and the batched
message log. It may import `journeys`, `coupons` and everything below; never `landing`,
`console` or `queue` (it enqueues through callables it is given).
"""

from selfserve.texts.answerer import TextAnswerer
from selfserve.texts.data_rights import DataRights
from selfserve.texts.fast_path import ReturningCustomers
from selfserve.texts.later import LateAnswers
from selfserve.texts.matching import KeywordMatcher
from selfserve.texts.message_log import MessageLogWriter
from selfserve.texts.outcomes import InboundText, Wording
from selfserve.texts.reconcile import MISSED, Reconciler, ReconcileReport
from selfserve.texts.routing import Router
from selfserve.texts.spooled import (
    SPOOLED,
    DatabaseGate,
    SpoolDrainer,
    SpooledReply,
    SpoolingAnswerer,
)

__all__ = [
    "MISSED",
    "ReconcileReport",
    "Reconciler",
    "SPOOLED",
    "DataRights",
    "DatabaseGate",
    "LateAnswers",
    "SpoolDrainer",
    "SpooledReply",
    "SpoolingAnswerer",
    "InboundText",
    "KeywordMatcher",
    "MessageLogWriter",
    "ReturningCustomers",
    "Router",
    "TextAnswerer",
    "Wording",
]
