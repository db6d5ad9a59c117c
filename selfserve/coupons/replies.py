"""How a code reads: the Talon.One identifier of a claim, and the campaign's reply around a code.

Both are pure functions of their values, cached: a returning customer asks for the same ones
again, and rendering them was a sixth of a returning text's time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from selfserve.campaigns import CampaignSpec, render_template


def identifier_for(campaign: CampaignSpec, customer_id: str, keyword: str, now: datetime) -> str:
    """The Talon.One identifier from the campaign's template (never the phone number)."""
    return _identifier(
        campaign.identifier,
        customer_id,
        campaign.campaign_id,
        campaign.application_id,
        campaign.external_campaign_id,
        campaign.slug,
        keyword or (campaign.keywords[0] if campaign.keywords else ""),
        now.date().isoformat(),  # YYYY-MM-DD (strftime costs more, per text)
    )


def code_reply(
    campaign: CampaignSpec,
    code: str,
    expires_at: datetime | None,
    starts_at: datetime | None,
    *,
    first_name: str = "",
    keyword: str = "",
    code_url: str = "",
) -> str:
    """The campaign's reply with the code filled in (as a TwiML reply or a later SMS).

    `code_url` is part of the cached values: the code page's link differs per claim."""
    values = (
        campaign.reply,
        campaign.name,
        first_name,
        keyword,
        code,
        expires_at,
        starts_at,
        code_url,
    )
    if _in_utc(expires_at) and _in_utc(starts_at):
        return _code_reply(*values)
    # Equal instants in other zones would share a cache entry yet print other dates.
    return _code_reply.__wrapped__(*values)


@lru_cache(maxsize=4096)
def _identifier(
    template: str,
    customer_id: str,
    campaign_id: int | None,
    application_id: int | None,
    external_campaign_id: str,
    slug: str,
    keyword: str,
    date: str,
) -> str:
    return render_template(
        template,
        {
            "customer_id": customer_id,
            "campaign_id": campaign_id,
            "application_id": application_id,
            "external_campaign_id": external_campaign_id,
            "slug": slug,
            "keyword": keyword,
            "year": date[:4],
            "month": date[:7],
            "date": date,
        },
    )


@lru_cache(maxsize=4096)
def _code_reply(
    template: str,
    name: str,
    first_name: str,
    keyword: str,
    code: str,
    expires_at: datetime | None,
    starts_at: datetime | None,
    code_url: str,
) -> str:
    return render_template(
        template,
        {
            "name": name,
            "first_name": first_name,
            "keyword": keyword,
            "code": code,
            "expiry": expires_at,
            "starts": starts_at,
            "code_url": code_url,
        },
    )


def _in_utc(moment: datetime | None) -> bool:
    return moment is None or moment.tzinfo is UTC
