"""When a campaign opens, closes and sends: its stored times and its time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from datetime import time as time_of_day
from zoneinfo import ZoneInfo

from selfserve.campaigns.spec import CampaignSpec
from selfserve.customers import REGION_DEFAULT_ZONES, region_time_zone


def canonical_moment(value: datetime | date | str) -> str:
    """A campaign time as stored: ISO 8601 text (JSON has no dates). Raises ValueError."""
    if isinstance(value, str):
        text = value.strip()
        value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    return value.isoformat()


def moment_of(stored: str, zone: tzinfo, *, end: bool = False) -> datetime:
    """A stored opens_at/closes_at as an aware datetime; a bare date means its local midnight.

    With `end=True` a bare date means the end of that day (the next local midnight), so
    `closes_at = 2026-03-31` still takes entries all through 31 March.
    """
    if len(stored) == 10:
        day = date.fromisoformat(stored) + timedelta(days=1 if end else 0)
        return datetime.combine(day, time_of_day(0), tzinfo=zone)
    moment = datetime.fromisoformat(stored)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def campaign_zone(campaign: CampaignSpec, default_region: str) -> ZoneInfo:
    """The campaign's time zone: its `timezone`, else DEFAULT_REGION's main zone."""
    region = default_region.upper()
    return ZoneInfo(
        campaign.option("timezone") or REGION_DEFAULT_ZONES.get(region) or region_time_zone(region)
    )
