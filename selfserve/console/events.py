"""Security events of the console (MFA, passkeys, SSO): what happened, to whom, with what outcome.

Events go through one injected callable, `record_event(actor, action, target, outcome,
address=None, changes=None)`, so the same calls can feed a log (`log_event`, the default
wiring) or an append-only audit trail. Never pass a secret, a code or a full phone number.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class RecordEvent(Protocol):
    """Records one security event."""

    def __call__(
        self,
        actor: str,
        action: str,
        target: str,
        outcome: str,
        address: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> None: ...


def log_event(
    actor: str,
    action: str,
    target: str,
    outcome: str,
    address: str | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """`record_event` as one structured log line `console_event`."""
    log.info(
        "console_event",
        extra={
            "actor": actor,
            "action": action,
            "target": target,
            "outcome": outcome,
            "address": address or "",
            "changes": changes or {},
        },
    )
