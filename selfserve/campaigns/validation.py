"""The campaign rules: one raw `[[campaign]]` table, or a whole file, judged field by field.

One validator serves the `campaigns import` command and the console's forms, so a campaign is
judged the same way wherever it is written. Every problem names the campaign and the field.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC
from datetime import time as time_of_day
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rapidfuzz.distance import DamerauLevenshtein

from selfserve.campaigns.fields import (
    ACTION_ONLY_FIELDS,
    ACTIONS,
    BARCODES,
    BIRTHDAY_IDENTIFIER,
    DEFAULT_CONFIRM_REPLY,
    DEFAULT_DEFERRED_REPLY,
    DEFAULT_IDENTIFIER,
    FIELDS,
    HEX_COLOUR,
    KEYWORD,
    SEND_AT,
    SLUG,
    default_reply,
    has_kind,
    kind_name,
)
from selfserve.campaigns.spec import CampaignSpec, spec_from_definition
from selfserve.campaigns.templates import (
    DEFERRED_REPLY_FIELDS,
    IDENTIFIER_FIELDS,
    OWN_TEXT_FIELDS,
    REPLY_FIELDS,
    render_sample,
    reply_fields,
    with_journey_fields,
)
from selfserve.campaigns.times import canonical_moment, moment_of
from selfserve.campaigns.whatsapp import validate_whatsapp_template
from selfserve.customers import asks_for_y
from selfserve.ops import SUPPORTED_LANGUAGES
from selfserve.sms import clean_template, is_reserved, reserved_word_near

Problem = Callable[[str, str], None]
"""Reports one problem: the field's name, then what is wrong with it."""


def validate_campaign(raw: Mapping[str, Any], label: str) -> tuple[CampaignSpec | None, list[str]]:
    """Validate one raw campaign table; returns the spec (or None) and its problems.

    Every problem names the campaign (`label`) and the field, so a marketer can fix them all
    in one pass.
    """
    problems: list[str] = []

    def problem(field_name: str, message: str) -> None:
        problems.append(f"campaign {label}, field {field_name}: {message}")

    action = raw.get("action", "coupon")
    values = _read_fields(raw, action, problem)
    # Go on with the fields that are present and well-typed: every problem in one pass.
    _validate_names(values, problem)
    _validate_journey_fields(action, values, problem)
    _validate_replies(action, values, problem)
    _validate_looks_and_numbers(values, problem)
    validate_whatsapp_template(values, problem)
    if problems:
        return None, problems
    return spec_from_definition(values), []


def validate_campaigns(tables: Iterable[Mapping[str, Any]]) -> tuple[list[CampaignSpec], list[str]]:
    """Validate a whole file: each campaign, then slugs and keywords unique across the file."""
    specs: list[CampaignSpec] = []
    problems: list[str] = []
    keyword_owner: dict[str, str] = {}
    seen_slugs: set[str] = set()
    for position, raw in enumerate(tables, start=1):
        label = str(raw.get("slug") or f"#{position}")
        spec, found = validate_campaign(raw, label)
        problems.extend(found)
        if spec is None:
            continue
        if spec.slug in seen_slugs:
            problems.append(f"campaign {label}, field slug: used twice in this file")
        seen_slugs.add(spec.slug)
        for keyword in spec.keywords:
            owner = keyword_owner.setdefault(keyword, spec.slug)
            if owner != spec.slug:
                problems.append(
                    f"campaign {label}, field keywords: {keyword} is already used by {owner}"
                )
        specs.append(spec)
    problems.extend(_friend_campaign_problems(specs))
    problems.extend(near_keyword_conflicts(specs, []))
    return specs, problems


def _friend_campaign_problems(specs: list[CampaignSpec]) -> list[str]:
    """A referral's friend_campaign must be a coupon campaign of the same file."""
    coupons = {spec.slug for spec in specs if spec.action == "coupon"}
    return [
        f"campaign {spec.slug}, field friend_campaign: {spec.option('friend_campaign')!r} "
        "is not a coupon campaign in this file"
        for spec in specs
        if spec.action == "referral" and spec.option("friend_campaign") not in coupons
    ]


def near_keyword_conflicts(specs: list[CampaignSpec], others: list[CampaignSpec]) -> list[str]:
    """Problems for fuzzy keywords one edit from another fuzzy campaign's keyword, among
    `specs` and between `specs` and `others` (stored campaigns): a typo of one would be
    taken for the other (texts/matching.py). Both keywords are named."""
    problems = []
    for position, spec in enumerate(specs):
        for other in specs[position + 1 :] + others:
            if spec.slug == other.slug or not (spec.fuzzy and other.fuzzy):
                continue
            for keyword, neighbour in _near_pairs(spec.keywords, other.keywords):
                problems.append(
                    f"campaign {spec.slug}, field keywords: {keyword} is one edit from "
                    f"{neighbour} of campaign {other.slug}; set fuzzy = false on one of them "
                    "or choose another keyword"
                )
    return problems


def _near_pairs(keywords: Iterable[str], others: Iterable[str]) -> list[tuple[str, str]]:
    """The pairs of different keywords at most one edit apart."""
    return [
        (keyword, other)
        for keyword in keywords
        for other in others
        if keyword != other and DamerauLevenshtein.distance(keyword, other, score_cutoff=1) <= 1
    ]


def _read_fields(raw: Mapping[str, Any], action: Any, problem: Problem) -> dict[str, Any]:
    """The table's known, well-typed fields (text trimmed and cleaned); reports the others."""
    for name in sorted(set(raw) - set(FIELDS)):
        problem(name, "unknown field")
    if action not in ACTIONS:
        problem("action", f"must be one of {', '.join(ACTIONS)}")
    values: dict[str, Any] = {}
    for name, rule in FIELDS.items():
        if name not in raw:
            if action in rule.required_for:
                problem(name, "is required")
            continue
        value = raw[name]
        if not has_kind(value, rule.kind):
            problem(name, f"must be {kind_name(rule.kind)}")
            continue
        if isinstance(value, str):
            value = clean_template(value.strip())
        values[name] = value
    return values


def _validate_names(values: dict[str, Any], problem: Problem) -> None:
    """Slug, name, keywords and identifier; keeps the keywords upper-cased, each once."""
    slug = values.get("slug")
    if slug is not None and not SLUG.match(slug):
        problem("slug", "use lower-case letters, digits and hyphens (at most 64)")
    if "name" in values and not values["name"]:
        problem("name", "must not be empty")
    if "language" in values and values["language"] not in SUPPORTED_LANGUAGES:
        problem("language", f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
    values["keywords"] = _validate_keywords(values.get("keywords", []), problem)
    identifier = values.get("identifier", DEFAULT_IDENTIFIER)
    _validate_template(identifier, IDENTIFIER_FIELDS, "identifier", problem)
    if "{customer_id}" not in identifier:
        problem("identifier", "must contain {customer_id}, or every customer shares one code")


def _validate_replies(action: Any, values: dict[str, Any], problem: Problem) -> None:
    """Every reply template; sets the default reply when the file gives none."""
    reply = values.setdefault("reply", default_reply(action, values))
    if action in ACTIONS:
        _validate_template(reply, reply_fields(action, values), "reply", problem)
    for name, allowed in OWN_TEXT_FIELDS.items():
        if name in values:
            _validate_template(values[name], with_journey_fields(allowed, values), name, problem)
    _validate_template(
        values.get("deferred_reply", DEFAULT_DEFERRED_REPLY),
        DEFERRED_REPLY_FIELDS,
        "deferred_reply",
        problem,
    )
    if action == "subscribe":
        if not asks_for_y(reply):
            problem("reply", "must ask the customer to reply Y (double opt-in; YES is reserved)")
        _validate_template(
            values.get("confirm_reply", DEFAULT_CONFIRM_REPLY),
            REPLY_FIELDS["subscribe"],
            "confirm_reply",
            problem,
        )
    elif "confirm_reply" in values:
        problem("confirm_reply", "only subscribe campaigns confirm a Y")


def _validate_looks_and_numbers(values: Mapping[str, Any], problem: Problem) -> None:
    """Brand colours, Talon.One ids and the usage limit."""
    for name in ("brand_colour", "accent_colour"):
        if values.get(name) and not HEX_COLOUR.match(values[name]):
            problem(name, "must be a colour like #0a7d3b")
    for name in (
        "application_id",
        "campaign_id",
        "loyalty_program_id",
        "max_codes_per_day",
        "fresh_scan_seconds",
    ):
        if name in values and values[name] < 1:
            problem(name, "must be a positive whole number")
    if values.get("usage_limit") is not None and values["usage_limit"] < 0:
        problem("usage_limit", "must be 0 (unlimited) or more")
    if "barcode" in values and values["barcode"] not in BARCODES:
        problem("barcode", "must be " + ", ".join(f'"{kind}"' for kind in BARCODES))


def _validate_journey_fields(action: Any, values: dict[str, Any], problem: Problem) -> None:
    """Competition, birthday and loyalty-points rules; normalises times in `values`."""
    for name, actions in ACTION_ONLY_FIELDS.items():
        if name in values and action not in actions:
            problem(name, f"only applies to {' or '.join(actions)} campaigns")
    _validate_opening_times(values, problem)
    _validate_local_times(values, problem)
    _validate_journey_requirements(values, problem)
    if action == "birthday":
        identifier = values.setdefault("identifier", BIRTHDAY_IDENTIFIER)
        if "{year}" not in identifier and "{date}" not in identifier:
            problem("identifier", "must contain {year}, or every birthday gets last year's code")


def _validate_opening_times(values: dict[str, Any], problem: Problem) -> None:
    """opens_at and closes_at as stored text, the close after the opening; drops bad ones."""
    for name in ("opens_at", "closes_at"):
        if name in values:
            try:
                values[name] = canonical_moment(values[name])
            except ValueError:
                problem(name, "must be a date or date-time such as 2026-03-31T23:59:00+11:00")
                del values[name]
    if "opens_at" in values and "closes_at" in values:
        zone = UTC  # any fixed zone compares naive values consistently
        if moment_of(values["opens_at"], zone) >= moment_of(values["closes_at"], zone, end=True):
            problem("closes_at", "must be after opens_at")


def _validate_local_times(values: dict[str, Any], problem: Problem) -> None:
    """The time zone name and send_at, kept as "HH:MM" text."""
    if "timezone" in values:
        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            problem("timezone", "must be a time zone name such as Australia/Sydney")
    if "send_at" in values:
        send_at = values["send_at"]
        if isinstance(send_at, time_of_day):
            send_at = f"{send_at:%H:%M}"
        if not SEND_AT.match(send_at):
            problem("send_at", "must be a local time such as 09:00")
        values["send_at"] = send_at


def _validate_journey_requirements(values: Mapping[str, Any], problem: Problem) -> None:
    """What also_coupon and award_points need alongside them."""
    if values.get("also_coupon"):
        for name in ("application_id", "campaign_id"):
            if name not in values:
                problem(name, "is required with also_coupon = true")
    _validate_referral_fields(values, problem)
    if "award_points" in values:
        if values["award_points"] <= 0:
            problem("award_points", "must be more than 0")
        if "loyalty_program_id" not in values:
            problem("loyalty_program_id", "is required with award_points")


def _validate_referral_fields(values: Mapping[str, Any], problem: Problem) -> None:
    """A referral's advocate points need a loyalty program; codes live a day or more."""
    if "advocate_points" in values:
        if values["advocate_points"] <= 0:
            problem("advocate_points", "must be more than 0")
        if "loyalty_program_id" not in values:
            problem("loyalty_program_id", "is required with advocate_points")
    if values.get("valid_days") is not None and values["valid_days"] < 1:
        problem("valid_days", "must be 1 or more")


def _validate_keywords(raw: list[Any], problem: Problem) -> list[str]:
    """The keywords upper-cased, each once; reports reserved, malformed and repeated ones."""
    keywords: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            problem("keywords", "must be a list of words")
            continue
        keyword = item.strip().upper()
        if not KEYWORD.match(keyword):
            problem("keywords", f"{item!r} must be one word of letters and digits")
        elif is_reserved(keyword):
            problem("keywords", f"{keyword} is reserved (opt-out/opt-in/help/data rights)")
        elif reserved_word_near(keyword):
            problem(
                "keywords",
                f"{keyword} is one letter away from the reserved word "
                f"{reserved_word_near(keyword)}: a typo of it would be read as that word",
            )
        elif keyword == "Y":
            problem("keywords", "Y is reserved for confirming SMS club sign-ups")
        elif keyword in keywords:
            problem("keywords", f"{keyword} is listed twice")
        else:
            keywords.append(keyword)
    return keywords


def _validate_template(template: str, allowed: frozenset[str], name: str, problem: Problem) -> None:
    """Reports unknown placeholders, conversions, and replies that cannot be rendered."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        problem(name, f"bad template ({error})")
        return
    for _, field_name, _, conversion in parsed:
        if field_name is None:
            continue
        if field_name not in allowed:
            problem(
                name,
                f"unknown placeholder {{{field_name}}}; use one of "
                + ", ".join(f"{{{f}}}" for f in sorted(allowed)),
            )
        elif conversion:
            problem(name, f"placeholder {{{field_name}}} may not use !{conversion}")
    if name != "identifier":
        try:
            render_sample(template)
        except (ValueError, TypeError, KeyError, IndexError) as error:
            problem(name, f"cannot be rendered ({error})")
