"""Rehearse a campaign against Talon.One with `X-DRY-RUN: true`: does its configuration work?

The console's "test" button calls this. It runs the same client call a customer's text would
make, for a made-up customer id, with the dry-run header, so Talon.One checks the application,
campaign and key without creating a coupon; nothing is stored here either.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from selfserve.campaigns import CampaignSpec, format_points, render_template
from selfserve.coupons import Coupons
from selfserve.errors import TalonError, TalonRejected
from selfserve.talon import TalonClient

REHEARSAL_CUSTOMER_PREFIX = "selfserve-dry-run-"

_HINTS = {
    400: "Talon.One found the request malformed: check TALON_DEPLOYMENT_HOST and the IDs.",
    401: "Talon.One refused the API key: check TALON_API_KEY and its scope.",
    403: "The API key may not use this endpoint: check the key's permissions in Talon.One.",
    404: "Talon.One does not know this application, campaign or loyalty programme: check IDs.",
}


@dataclass(frozen=True)
class Rehearsal:
    """The outcome of a dry run: did it work, what Talon.One said, what the customer would read."""

    is_ok: bool
    summary: str
    reply_preview: str | None = None
    hint: str | None = None
    request_uuid: str | None = None
    identifier: str | None = None


def rehearse(coupons: Coupons, talon: TalonClient, campaign: CampaignSpec) -> Rehearsal:
    """Run `campaign` once against Talon.One with X-DRY-RUN: true, for a made-up customer."""
    customer_id = REHEARSAL_CUSTOMER_PREFIX + secrets.token_hex(4)
    keyword = campaign.keywords[0] if campaign.keywords else ""
    common = {"name": campaign.name, "first_name": "Alex", "keyword": keyword}
    if campaign.action not in ("coupon", "loyalty"):
        return Rehearsal(
            True,
            f"A {campaign.action} campaign does not call Talon.One: there is nothing to test.",
            reply_preview=render_template(campaign.reply, common),
        )
    identifier = None
    try:
        if campaign.action == "loyalty":
            summary, preview = _rehearse_balance(talon, campaign, customer_id, common)
        else:
            identifier = coupons.identifier_for(campaign, customer_id, keyword)
            summary, preview = _rehearse_code(coupons, campaign, customer_id, identifier, common)
    except TalonRejected as error:
        return Rehearsal(
            False,
            f"Talon.One refused: {error.status} {error.error}".strip(),
            hint=_HINTS.get(error.status),
            request_uuid=error.request_uuid or None,
            identifier=identifier,
        )
    except TalonError as error:
        return Rehearsal(
            False,
            f"Talon.One did not answer: {error}",
            hint="Customers would get a polite 'try again later' text. Try again in a moment.",
            identifier=identifier,
        )
    return Rehearsal(True, summary, reply_preview=preview, identifier=identifier)


def _rehearse_balance(
    talon: TalonClient, campaign: CampaignSpec, customer_id: str, common: dict[str, str]
) -> tuple[str, str]:
    assert campaign.loyalty_program_id is not None  # noqa: S101 - validated on save
    ledger = talon.loyalty(customer_id, campaign.loyalty_program_id, dry_run=True)
    preview = render_template(
        campaign.reply,
        {
            **common,
            "balance": format_points(ledger.balance),
            "pending": format_points(ledger.pending),
            "tier": ledger.tier,
            "points_to_next_tier": format_points(ledger.points_to_next_tier or 0),
        },
    )
    return f"Talon.One answered with a balance of {format_points(ledger.balance)} points.", preview


def _rehearse_code(
    coupons: Coupons,
    campaign: CampaignSpec,
    customer_id: str,
    identifier: str,
    common: dict[str, str],
) -> tuple[str, str]:
    issued = coupons.issue(campaign, customer_id, identifier, dry_run=True)
    preview = render_template(
        campaign.reply,
        {**common, "code": issued.code, "expiry": issued.expires_at, "starts": issued.starts_at},
    )
    return f"Talon.One answered with a coupon code ({issued.code}).", preview
