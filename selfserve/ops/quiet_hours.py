"""QUIET_HOURS: the daily local-time window in which no marketing text is sent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from selfserve.errors import SettingsError


@dataclass(frozen=True)
class QuietHours:
    """A daily window (local time) in which no marketing text is sent; may span midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """`21:00-08:00` → QuietHours; `off` → None. Raises SettingsError when unreadable."""
        value = text.strip().lower()
        if value in ("off", "none", ""):
            return None
        match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", value)
        if not match:
            raise SettingsError("QUIET_HOURS must look like 21:00-08:00, or be off")
        hours_from, minutes_from, hours_to, minutes_to = (int(g) for g in match.groups())
        try:
            return cls(time(hours_from, minutes_from), time(hours_to, minutes_to))
        except ValueError:
            raise SettingsError("QUIET_HOURS must look like 21:00-08:00, or be off") from None

    def contains(self, local: time) -> bool:
        """True when `local` falls inside the quiet window."""
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end
