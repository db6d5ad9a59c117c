"""SMS: sending texts reliably, and the rules of SMS text itself.

Owns the senders (Twilio's Messages resource, the sandbox outbox), the outbox that sends
each text at most once per dedupe key with retries, delivery statuses, the compliance words
(STOP, HELP, START…) and GSM-7/UCS-2 encoding. It may import `customers` (the opt-out
register), `ops`, `models` and `errors`; it knows nothing of campaigns or coupons.
"""

from selfserve.sms.encoding import clean_template, encoding_of
from selfserve.sms.metered import MeteredSender
from selfserve.sms.outbox import (
    DEFAULT_RETRIES,
    FAILED,
    SKIPPED,
    UNCERTAIN,
    WAITING,
    Outbox,
    Retry,
    RetryPolicy,
    backoff_seconds,
)
from selfserve.sms.senders import SandboxSender, SmsSender, Template, TwilioSender, record_status
from selfserve.sms.words import (
    FORGET_CONFIRMATION,
    FORGET_REQUEST,
    MY_CODES_WORD,
    Compliance,
    ComplianceWords,
    first_word,
    fold,
    is_reserved,
    normalise_body,
    reserved_word_near,
)

__all__ = [
    "Compliance",
    "ComplianceWords",
    "DEFAULT_RETRIES",
    "FAILED",
    "FORGET_CONFIRMATION",
    "FORGET_REQUEST",
    "MY_CODES_WORD",
    "MeteredSender",
    "Outbox",
    "Retry",
    "RetryPolicy",
    "SKIPPED",
    "SandboxSender",
    "SmsSender",
    "Template",
    "TwilioSender",
    "UNCERTAIN",
    "WAITING",
    "backoff_seconds",
    "clean_template",
    "encoding_of",
    "first_word",
    "fold",
    "is_reserved",
    "normalise_body",
    "record_status",
    "reserved_word_near",
]
