"""The campaign form: its sections and fields, and how a stored campaign fills it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template

from handlers.admin.posters import poster_choices
from handlers.services import services
from selfserve.campaigns import (
    ACTIONS,
    DEFAULT_CONFIRM_REPLY,
    DEFAULT_DEFERRED_REPLY,
    FIELDS,
    GENERAL,
    CampaignSpec,
)
from selfserve.console import NearMiss, Rehearsal, recent_near_misses
from selfserve.models import utcnow


@dataclass(frozen=True)
class FormField:
    """One input of the campaign form: the campaigns-file field it writes, and how it looks."""

    name: str
    label: str
    hint: str = ""
    kind: str = "text"  # text | number | textarea | checkbox | select | url | colour
    only_for: str = ""  # "coupon" or "loyalty": shown for that action only
    placeholder: str = ""


FORM_SECTIONS: list[tuple[str, list[FormField]]] = [
    (
        "The campaign",
        [
            FormField("name", "Name", "Customers see this in replies and on posters."),
            FormField(
                "slug",
                "Short name (slug)",
                "Lower-case letters, digits and hyphens. Used in poster links: /q/<slug>. "
                "It cannot change later, because printed posters point at it.",
                placeholder="spring-sale",
            ),
            FormField(
                "keywords",
                "Keywords",
                "The word(s) customers text, separated by commas. Not STOP, HELP or START.",
                placeholder="SPRING, BLOOM",
            ),
            FormField("action", "What customers get", kind="select"),
            FormField("active", "Active: customers can take part now", kind="checkbox"),
        ],
    ),
    (
        "Talon.One coupon",
        [
            FormField("application_id", "Application ID", kind="number", only_for="coupon"),
            FormField("campaign_id", "Campaign ID", kind="number", only_for="coupon"),
            FormField(
                "external_campaign_id",
                "External campaign ID",
                "Optional. Defaults to the slug.",
                only_for="coupon",
            ),
            FormField(
                "identifier",
                "Coupon identifier",
                "One code per identifier. Must contain {customer_id}; may add {year}, {month}, "
                "{date}, {keyword}, {campaign_id}.",
                only_for="coupon",
                placeholder="{customer_id}:{campaign_id}",
            ),
            FormField(
                "recipient",
                "Send the customer id as the coupon's recipient",
                kind="checkbox",
                only_for="coupon",
            ),
            FormField(
                "coupon_attributes",
                "Send where each code came from to Talon.One",
                "Adds .selfserveSource, .selfserveKeyword and .selfserveChannel to new coupons, "
                "so Campaign Manager shows them. Define these three custom coupon attributes "
                "(text) in Talon.One first, or Talon.One refuses the coupons.",
                kind="checkbox",
                only_for="coupon",
            ),
            FormField(
                "usage_limit",
                "Redemptions per code",
                "Optional. 0 means unlimited.",
                kind="number",
                only_for="coupon",
            ),
        ],
    ),
    (
        "Talon.One loyalty",
        [
            FormField(
                "loyalty_program_id", "Loyalty programme ID", kind="number", only_for="loyalty"
            ),
        ],
    ),
    (
        "Replies",
        [
            FormField(
                "reply",
                "Reply text",
                "Coupons: {code}, {expiry:%d %b}, {name}, {first_name}. "
                "Loyalty: {balance}, {tier}, {pending}, {points_to_next_tier}. "
                "Opt-ins must ask the customer to reply Y.",
                kind="textarea",
            ),
            FormField(
                "confirm_reply",
                "Reply to their Y",
                "Sent when the customer confirms with Y. {name}, {first_name}, {keyword}.",
                kind="textarea",
                only_for="subscribe",
                placeholder=DEFAULT_CONFIRM_REPLY,
            ),
            FormField(
                "deferred_reply",
                "Reply when the code follows later",
                "Sent at once when Talon.One is slow; the code follows by text.",
                kind="textarea",
                placeholder=DEFAULT_DEFERRED_REPLY,
            ),
        ],
    ),
    (
        "Posters",
        [
            FormField("offer", "Offer", "The promise printed on posters.", kind="textarea"),
            FormField(
                "sms_number",
                "SMS number",
                "Optional: the number customers text, if not TWILIO_FROM_NUMBER. "
                "International form: +61 then the number without its leading 0.",
                placeholder="+61…",
            ),
            FormField("terms_url", "Terms URL", "Optional.", kind="url"),
            FormField("brand_colour", "Brand colour", "Like #0a7d3b.", placeholder="#0a7d3b"),
            FormField("accent_colour", "Accent colour", "Like #f59e0b.", placeholder="#f59e0b"),
            FormField("logo_url", "Logo URL", "Optional.", kind="url"),
        ],
    ),
]
FORM_FIELDS = [form_field for _, fields in FORM_SECTIONS for form_field in fields]


def fields_for(action: str, *, with_slug: bool) -> list[str]:
    """The inputs the form shows for `action`: hidden ones of other actions are not read."""
    return [
        form_field.name
        for form_field in FORM_FIELDS
        if form_field.only_for in ("", action) and (with_slug or form_field.name != "slug")
    ]


def form_values(definition: dict[str, Any]) -> dict[str, Any]:
    """The stored definition as the form shows it (keyword lists as text, numbers as text).

    A checkbox the file left out shows its default (a campaign without `active` is active),
    or saving the form unchanged would flip it.
    """
    values: dict[str, Any] = {
        name: rule.default for name, rule in FIELDS.items() if rule.kind is bool
    }
    for name, value in definition.items():
        if isinstance(value, list):
            values[name] = ", ".join(str(item) for item in value)
        elif isinstance(value, bool):
            values[name] = value
        else:
            values[name] = "" if value is None else str(value)
    return values


def render_form(
    *,
    slug: str | None,
    values: dict[str, Any],
    problems: dict[str, list[str]] | None = None,
    rehearsal: Rehearsal | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The campaign form page (a new campaign when `slug` is None), with any problems."""
    campaign = services().campaigns.by_slug(slug) if slug else None
    return (
        render_template(
            "admin/campaign_form.html",
            slug=slug,
            campaign=campaign,
            values=values,
            problems=problems or {},
            general_problems=(problems or {}).get(GENERAL, []),
            sections=FORM_SECTIONS,
            actions=ACTIONS,
            rehearsal=rehearsal,
            posters=poster_choices(campaign) if campaign else None,
            near_misses=_near_misses(campaign),
            warm=services().warm_ups.status(campaign.slug)
            if campaign and campaign.action == "coupon"
            else None,
        ),
        status,
    )


def without_prefix(problem: str) -> str:
    """ "campaign x, field reply: message" → "Reply: message" for a flash line."""
    if ", field " in problem:
        field_name, _, message = problem.split(", field ", 1)[1].partition(": ")
        return f"{field_name.replace('_', ' ').capitalize()}: {message}"
    return problem


def _near_misses(campaign: CampaignSpec | None) -> list[NearMiss]:
    """What people texted for this campaign that was not its keyword exactly."""
    if campaign is None:
        return []
    with services().sessions() as db:
        return recent_near_misses(db, campaign, utcnow())
