"""When a console session is over: idle too long, too old, or begun before a change.

A session records when it began, when it was last used and the user's session generation at
log-in. It ends after CONSOLE_IDLE_MINUTES without a request, 12 hours after log-in whatever
happens, and as soon as the user's password or role changes or they are deactivated (the
generation in the database moves on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from selfserve.console.users import ConsoleAccount

ABSOLUTE_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class SessionStamp:
    """What a session remembers about itself (seconds since the epoch)."""

    started_at: float
    seen_at: float
    generation: int


def is_session_current(
    stamp: SessionStamp, account: ConsoleAccount, now: float, idle_minutes: int
) -> bool:
    """True while the session may go on being used."""
    if not account.is_active or stamp.generation != account.session_generation:
        return False
    if now - stamp.seen_at > idle_minutes * 60:
        return False
    return 0 <= now - stamp.started_at <= ABSOLUTE_LIFETIME.total_seconds()
