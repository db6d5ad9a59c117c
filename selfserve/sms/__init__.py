"""sms."""

from selfserve.sms.encoding import (
    clean_template,
    encoding_of,
)
from selfserve.sms.metered import (
    MeteredSender,
)
from selfserve.sms.outbox import (
    DEFAULT_RETRIES,
    FAILED,
    SKIPPED,
    WAITING,
    Outbox,
    Retry,
    RetryPolicy,
    backoff_seconds,
)
from selfserve.sms.senders import (
    SandboxSender,
    SmsSender,
    TwilioSender,
    record_status,
)
from selfserve.sms.words import (
    Compliance,
    classify,
    first_word,
    is_reserved,
    normalise_body,
)

__all__ = [
    "Compliance",
    "DEFAULT_RETRIES",
    "FAILED",
    "MeteredSender",
    "Outbox",
    "Retry",
    "RetryPolicy",
    "SKIPPED",
    "SandboxSender",
    "SmsSender",
    "TwilioSender",
    "WAITING",
    "backoff_seconds",
    "classify",
    "clean_template",
    "encoding_of",
    "first_word",
    "is_reserved",
    "normalise_body",
    "record_status",
]
