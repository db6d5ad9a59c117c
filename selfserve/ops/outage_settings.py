"""The outage settings' rules (docs/deploy.md, "Outages"), kept apart from settings.py."""

from __future__ import annotations

from typing import Protocol

from selfserve.errors import SettingsError


class OutageSettings(Protocol):
    """The fields of Settings these rules read (no import of Settings: no circle)."""

    database_timeout_seconds: float
    reconcile_every_minutes: int
    reconcile_max_age_minutes: int
    spooled_reply: str


def validate_outages(settings: OutageSettings) -> None:
    """DATABASE_TIMEOUT_SECONDS, RECONCILE_* and SPOOLED_REPLY: raise SettingsError naming one."""
    if not 0 < settings.database_timeout_seconds <= 10:
        raise SettingsError("DATABASE_TIMEOUT_SECONDS must be more than 0 and at most 10")
    if settings.reconcile_every_minutes < 1 or settings.reconcile_max_age_minutes < 1:
        raise SettingsError(
            "RECONCILE_EVERY_MINUTES and RECONCILE_MAX_AGE_MINUTES must be at least 1"
        )
    if not settings.spooled_reply.strip():
        raise SettingsError("SPOOLED_REPLY must not be empty")
