"""texts."""

from selfserve.texts.answerer import (
    TextAnswerer,
)
from selfserve.texts.fast_path import (
    ReturningCustomers,
)
from selfserve.texts.message_log import (
    MessageLogWriter,
)
from selfserve.texts.outcomes import (
    InboundText,
    Wording,
)
from selfserve.texts.routing import (
    Router,
)

__all__ = [
    "InboundText",
    "MessageLogWriter",
    "ReturningCustomers",
    "Router",
    "TextAnswerer",
    "Wording",
]
