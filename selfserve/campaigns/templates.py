"""Reply templates: the placeholders each may use, filling them in, and checking their length."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from selfserve.campaigns.spec import CampaignSpec
from selfserve.sms import encoding_of

IDENTIFIER_FIELDS = frozenset(
    {
        "customer_id",
        "campaign_id",
        "application_id",
        "external_campaign_id",
        "slug",
        "keyword",
        "year",
        "month",
        "date",
    }
)
CODE_FIELDS = frozenset({"code", "expiry", "starts", "code_url"})
REPLY_FIELDS = {
    "subscribe": frozenset({"name", "first_name", "keyword"}),
    "coupon": CODE_FIELDS | {"name", "first_name", "keyword"},
    "loyalty": frozenset(
        {"balance", "tier", "pending", "points_to_next_tier", "name", "first_name", "keyword"}
    ),
    # {closes} only when closes_at is set, {code}/{expiry}/{starts} only with also_coupon.
    "competition": frozenset({"entry_number", "closes", "name", "first_name", "keyword"}),
    # Sent on the customer's birthday, not texted in: there is no keyword to show.
    "birthday": CODE_FIELDS | {"name", "first_name"},
    "referral": frozenset({"code", "share_text", "expiry", "name", "first_name", "keyword"}),
}
# {code_url}: the code page says "on its way" until the code is there, then shows it.
DEFERRED_REPLY_FIELDS = frozenset({"name", "first_name", "keyword", "code_url"})
COMPETITION_REPLY_FIELDS = {
    "already_entered_reply": REPLY_FIELDS["competition"],
    "not_open_reply": frozenset({"opens", "closes", "name", "first_name", "keyword"}),
    "closed_reply": frozenset({"closes", "name", "first_name", "keyword"}),
    "winner_message": frozenset({"entry_number", "closes", "name", "first_name"}),
}
# Texts a campaign sends on its own besides its reply: a competition's, a referral's.
OWN_TEXT_FIELDS = {
    **COMPETITION_REPLY_FIELDS,
    # To the advocate when a friend joins: {points} is advocate_points (0 without).
    "friend_joined_reply": frozenset({"points", "name"}),
}


def reply_fields(action: str, values: Mapping[str, Any]) -> frozenset[str]:
    """The placeholders a campaign's `reply` may use, given its action and options."""
    return with_journey_fields(REPLY_FIELDS[action], values)


def with_journey_fields(allowed: frozenset[str], values: Mapping[str, Any]) -> frozenset[str]:
    """`allowed` plus the code fields with also_coupon, minus {closes} without closes_at."""
    if values.get("also_coupon"):  # no code page link in a competition's answers (yet)
        allowed = allowed | (CODE_FIELDS - {"code_url"})
    if "closes_at" not in values:
        allowed = allowed - {"closes"}
    return allowed


class OptionalDate:
    """A date for reply templates that formats as "no expiry" when Talon.One gave none."""

    def __init__(self, value: datetime | None, missing: str = "no expiry") -> None:
        self.value = value
        self.missing = missing

    def __format__(self, spec: str) -> str:
        if self.value is None:
            return self.missing
        return format(self.value, spec or "%d %b %Y")


def format_points(value: float) -> str:
    """Loyalty points as a reply shows them: 10.5, or 10 rather than 10.0."""
    return f"{value:g}" if value != int(value) else f"{int(value)}"


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """Fill a validated template: `{code}`, `{expiry:%d %b}` and friends."""
    prepared = {
        name: OptionalDate(value) if isinstance(value, datetime) or value is None else value
        for name, value in values.items()
    }
    return template.format_map(_Defaulting(prepared))


class _Defaulting(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render_sample(template: str) -> str:
    """Render a template with typical values, to check its length and encoding."""
    sample = {
        "code": "EW-1BC2-XY9Q",
        "code_url": "https://offers.example.com/c/Ab3dEf5hIj7lMn9p",
        "expiry": datetime(2026, 12, 31, tzinfo=UTC),
        "starts": datetime(2026, 1, 1, tzinfo=UTC),
        "name": "Spring 20% off",
        "first_name": "Alex",
        "keyword": "SPRING",
        "balance": "120",
        "tier": "silver",
        "pending": "5",
        "points_to_next_tier": "30",
        "entry_number": "1234",
        "share_text": "Text AB12-CD34 to 0480 000 000 for 20% off everything in store",
        "opens": datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        "closes": datetime(2026, 3, 31, 23, 59, tzinfo=UTC),
    }
    return render_template(template, sample)


def template_warnings(spec: CampaignSpec) -> list[str]:
    """Replies that will cost more than two segments, or go as UCS-2, with a sample render."""
    warnings = []
    for name in ("reply", "deferred_reply"):
        sample = render_sample(getattr(spec, name))
        encoding = encoding_of(sample)
        if encoding.name != "GSM-7" or encoding.segments > 2:
            warnings.append(
                f"campaign {spec.slug}, field {name}: a sample reply is {encoding.units} "
                f"{encoding.name} characters, {encoding.segments} segment(s)"
            )
    return warnings
