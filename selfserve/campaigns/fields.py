"""The campaigns file's fields: which exist, their types, defaults and the actions they suit.

The file format is one list of `[[campaign]]` tables; `FIELDS` is every key such a table may
carry, so a typo is an error rather than a silently ignored setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as time_of_day
from typing import Any

ACTIONS = ("coupon", "loyalty", "subscribe", "competition", "birthday", "referral")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
KEYWORD = re.compile(r"^[A-Z0-9]{1,32}$")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
BARCODES = ("code128", "qr", "none")

DEFAULT_REPLIES = {
    "subscribe": "Reply Y to get {name} offers by SMS. Msg&data rates may apply. "
    "Reply STOP to cancel.",
    "coupon": "Your {name} code: {code}. Reply STOP to opt out.",
    "loyalty": "You have {balance} points. Reply STOP to opt out.",
    "competition": "You're in the {name} draw! Your entry number is {entry_number}. "
    "Reply STOP to opt out.",
    "birthday": "Happy birthday from {name}! Your gift code: {code}. Reply STOP to opt out.",
    "referral": "Share your {name} code {code} with friends: {share_text}",
}
DEFAULT_REFERRAL_USAGE_LIMIT = 5  # friends per referral code
DEFAULT_COMPETITION_COUPON_REPLY = (
    "You're in the {name} draw (entry {entry_number}). Your code: {code}. Reply STOP to opt out."
)
# The competition's other answers; a campaign may set its own (same placeholders rules).
COMPETITION_REPLIES = {
    "already_entered_reply": "You're already in the {name} draw with entry number "
    "{entry_number}. Good luck!",
    "not_open_reply": "{name} opens on {opens:%d %b at %H:%M}. Text us again then!",
    "closed_reply": "Sorry, {name} closed on {closes:%d %b}. Thanks for your interest!",
    "winner_message": "Congratulations! Entry {entry_number} won the {name} draw. "
    "We'll be in touch soon. Reply STOP to opt out.",
}
BIRTHDAY_IDENTIFIER = "{customer_id}:{campaign_id}:{year}"
DEFAULT_SEND_AT = "09:00"
SEND_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DEFAULT_DEFERRED_REPLY = "You're in! We'll text your code in a few minutes."
DEFAULT_CONFIRM_REPLY = "You're subscribed to {name} offers by SMS. Reply STOP to cancel."
DEFAULT_IDENTIFIER = "{customer_id}:{campaign_id}"


@dataclass(frozen=True)
class FieldRule:
    """How one campaign-file field is read: its type, when it is required, its default."""

    kind: type | tuple[type, ...]
    default: Any = None
    required_for: tuple[str, ...] = ()


# Every field a [[campaign]] table may carry. Unknown fields are typos: they are rejected.
FIELDS: dict[str, FieldRule] = {
    "slug": FieldRule(str, required_for=ACTIONS),
    "name": FieldRule(str, required_for=ACTIONS),
    "action": FieldRule(str, "coupon"),
    "active": FieldRule(bool, True),
    "keywords": FieldRule(list, []),
    "fuzzy": FieldRule(bool, True),
    "language": FieldRule(str),
    "application_id": FieldRule(int, required_for=("coupon", "birthday")),
    "campaign_id": FieldRule(int, required_for=("coupon", "birthday", "referral")),
    "external_campaign_id": FieldRule(str),
    "identifier": FieldRule(str, DEFAULT_IDENTIFIER),
    "recipient": FieldRule(bool, False),
    "usage_limit": FieldRule(int),
    # Send the code's first touch (.selfserveSource/Keyword/Channel) as coupon attributes.
    "coupon_attributes": FieldRule(bool, False),
    "loyalty_program_id": FieldRule(int, required_for=("loyalty",)),
    "reply": FieldRule(str),
    "deferred_reply": FieldRule(str, DEFAULT_DEFERRED_REPLY),
    "offer": FieldRule(str, ""),
    "sms_number": FieldRule(str, ""),
    "terms_url": FieldRule(str, ""),
    "logo_url": FieldRule(str, ""),
    "brand_colour": FieldRule(str, ""),
    "accent_colour": FieldRule(str, ""),
    "confirm_reply": FieldRule(str),
    # The code page (/c/<token>): the barcode a till scans, and MMS with its picture.
    "barcode": FieldRule(str, "code128"),
    "mms": FieldRule(bool, False),
    # Abuse resistance: new codes per person per day; screen-only QR codes that rotate.
    "max_codes_per_day": FieldRule(int),
    "fresh_scan_seconds": FieldRule(int),
    # Journeys: competitions, birthdays, loyalty points for taking part.
    "opens_at": FieldRule((datetime, date, str)),
    "closes_at": FieldRule((datetime, date, str)),
    "also_coupon": FieldRule(bool, False),
    "award_points": FieldRule((int, float)),
    "send_at": FieldRule((str, time_of_day)),
    "timezone": FieldRule(str),
    **{name: FieldRule(str) for name in COMPETITION_REPLIES},
    # Referrals: the friend's coupon campaign, points for the advocate, how long a code lives.
    "friend_campaign": FieldRule(str, required_for=("referral",)),
    "advocate_points": FieldRule((int, float)),
    "valid_days": FieldRule(int),
    "friend_joined_reply": FieldRule(str),
    # WhatsApp: the Content template for texts after the 24-hour window (campaigns/whatsapp.py).
    "whatsapp_template": FieldRule(str),
    "whatsapp_variables": FieldRule(dict),
}
# Fields that mean something for one action only: elsewhere they are mistakes.
ACTION_ONLY_FIELDS = {
    "opens_at": ("competition",),
    "closes_at": ("competition",),
    "also_coupon": ("competition",),
    "send_at": ("birthday",),
    "barcode": ("coupon", "birthday", "competition"),
    "mms": ("coupon", "birthday", "competition"),
    "coupon_attributes": ("coupon", "birthday", "competition"),
    "timezone": ("competition", "birthday"),
    **{name: ("competition",) for name in COMPETITION_REPLIES},
    "friend_campaign": ("referral",),
    "advocate_points": ("referral",),
    "valid_days": ("referral",),
    "friend_joined_reply": ("referral",),
    "whatsapp_template": ("coupon", "birthday", "competition", "referral"),
    "whatsapp_variables": ("coupon", "birthday", "competition", "referral"),
}


def default_reply(action: str, values: Mapping[str, Any]) -> str:
    """The reply a campaign sends when its file sets none."""
    if action == "competition" and values.get("also_coupon"):
        return DEFAULT_COMPETITION_COUPON_REPLY
    return DEFAULT_REPLIES.get(action, "")


def has_kind(value: Any, kind: type | tuple[type, ...]) -> bool:
    """Whether a TOML value has the field's type (true/false is not a number here)."""
    if isinstance(value, bool) and kind in (int, (int, float)):
        return False
    return isinstance(value, kind)


def kind_name(kind: type | tuple[type, ...]) -> str:
    """A field's type as a marketer reads it: "a whole number", "true or false"…"""
    names = {
        str: "text",
        int: "a whole number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def ordered(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A definition with its fields in the file's order (unknown ones last), for export."""
    order = list(FIELDS)
    return dict(
        sorted(
            definition.items(),
            key=lambda item: order.index(item[0]) if item[0] in order else len(order),
        )
    )
