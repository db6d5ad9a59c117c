"""Campaigns: the TOML file format, its validation, import/export, and the in-memory book.

One validator serves the `campaigns import` command and the console's forms, so a campaign is
judged the same way wherever it is written.
"""

from __future__ import annotations

import re
import string
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as time_of_day
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from selfserve.customers import REGION_DEFAULT_ZONES, asks_for_y, region_time_zone
from selfserve.errors import CampaignFileError
from selfserve.models import Campaign, Keyword, utcnow
from selfserve.sms import clean_template, encoding_of, is_reserved

ACTIONS = ("coupon", "loyalty", "subscribe", "competition", "birthday")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
KEYWORD = re.compile(r"^[A-Z0-9]{1,32}$")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")

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
CODE_FIELDS = frozenset({"code", "expiry", "starts"})
REPLY_FIELDS = {
    "subscribe": frozenset({"name", "first_name", "keyword"}),
    "coupon": frozenset({"code", "expiry", "starts", "name", "first_name", "keyword"}),
    "loyalty": frozenset(
        {"balance", "tier", "pending", "points_to_next_tier", "name", "first_name", "keyword"}
    ),
    # {closes} only when closes_at is set, {code}/{expiry}/{starts} only with also_coupon.
    "competition": frozenset({"entry_number", "closes", "name", "first_name", "keyword"}),
    # Sent on the customer's birthday, not texted in: there is no keyword to show.
    "birthday": frozenset({"code", "expiry", "starts", "name", "first_name"}),
}
DEFERRED_REPLY_FIELDS = frozenset({"name", "first_name", "keyword"})
DEFAULT_REPLIES = {
    "subscribe": "Reply Y to get {name} offers by SMS. Msg&data rates may apply. "
    "Reply STOP to cancel.",
    "coupon": "Your {name} code: {code}. Reply STOP to opt out.",
    "loyalty": "You have {balance} points. Reply STOP to opt out.",
    "competition": "You're in the {name} draw! Your entry number is {entry_number}. "
    "Reply STOP to opt out.",
    "birthday": "Happy birthday from {name}! Your gift code: {code}. Reply STOP to opt out.",
}
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
COMPETITION_REPLY_FIELDS = {
    "already_entered_reply": REPLY_FIELDS["competition"],
    "not_open_reply": frozenset({"opens", "closes", "name", "first_name", "keyword"}),
    "closed_reply": frozenset({"closes", "name", "first_name", "keyword"}),
    "winner_message": frozenset({"entry_number", "closes", "name", "first_name"}),
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
    "application_id": FieldRule(int, required_for=("coupon", "birthday")),
    "campaign_id": FieldRule(int, required_for=("coupon", "birthday")),
    "external_campaign_id": FieldRule(str),
    "identifier": FieldRule(str, DEFAULT_IDENTIFIER),
    "recipient": FieldRule(bool, False),
    "usage_limit": FieldRule(int),
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
    # Journeys: competitions, birthdays, loyalty points for taking part.
    "opens_at": FieldRule((datetime, date, str)),
    "closes_at": FieldRule((datetime, date, str)),
    "also_coupon": FieldRule(bool, False),
    "award_points": FieldRule((int, float)),
    "send_at": FieldRule((str, time_of_day)),
    "timezone": FieldRule(str),
    **{name: FieldRule(str) for name in COMPETITION_REPLIES},
}
# Fields that mean something for one action only: elsewhere they are mistakes.
ACTION_ONLY_FIELDS = {
    "opens_at": ("competition",),
    "closes_at": ("competition",),
    "also_coupon": ("competition",),
    "send_at": ("birthday",),
    "timezone": ("competition", "birthday"),
    **{name: ("competition",) for name in COMPETITION_REPLIES},
}


@dataclass(frozen=True)
class CampaignSpec:
    """A validated campaign: plain values, safe to keep in memory and pass anywhere."""

    slug: str
    name: str
    action: str
    keywords: tuple[str, ...]
    active: bool = True
    application_id: int | None = None
    campaign_id: int | None = None
    external_campaign_id: str = ""
    identifier: str = DEFAULT_IDENTIFIER
    recipient: bool = False
    usage_limit: int | None = None
    loyalty_program_id: int | None = None
    reply: str = ""
    deferred_reply: str = DEFAULT_DEFERRED_REPLY
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def definition(self) -> dict[str, Any]:
        """The campaign as it is stored and exported: only fields with a value."""
        return dict(self.options)

    @property
    def confirm_reply(self) -> str:
        """What a subscribe campaign answers to the Y that confirms it."""
        return self.options.get("confirm_reply") or DEFAULT_CONFIRM_REPLY

    def option(self, name: str, default: Any = None) -> Any:
        """A field of the definition that has no attribute of its own (offer, colours…)."""
        return self.options.get(name, default)


@dataclass(frozen=True)
class ImportReport:
    """What an import did: slugs created, updated and left as they were; template warnings."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def parse_campaigns_file(text: str) -> list[dict[str, Any]]:
    """Read the TOML text into raw campaign tables; raises CampaignFileError on bad TOML."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CampaignFileError([f"file: not valid TOML ({error})"]) from None
    unknown = set(document) - {"campaign"}
    problems = [f"file: unknown top-level table {name!r}" for name in sorted(unknown)]
    tables = document.get("campaign", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.append("file: campaigns must be [[campaign]] tables")
        tables = []
    if problems:
        raise CampaignFileError(problems)
    return tables


def validate_campaign(raw: Mapping[str, Any], label: str) -> tuple[CampaignSpec | None, list[str]]:
    """Validate one raw campaign table; returns the spec (or None) and its problems.

    Every problem names the campaign (`label`) and the field, so a marketer can fix them all
    in one pass.
    """
    problems: list[str] = []

    def problem(field_name: str, message: str) -> None:
        problems.append(f"campaign {label}, field {field_name}: {message}")

    values: dict[str, Any] = {}
    for name in sorted(set(raw) - set(FIELDS)):
        problem(name, "unknown field")
    action = raw.get("action", "coupon")
    if action not in ACTIONS:
        problem("action", f"must be one of {', '.join(ACTIONS)}")
    for name, rule in FIELDS.items():
        if name not in raw:
            if action in rule.required_for:
                problem(name, "is required")
            continue
        value = raw[name]
        if (
            isinstance(value, bool)
            and rule.kind in (int, (int, float))
            or not isinstance(value, rule.kind)
        ):
            problem(name, f"must be {_kind_name(rule.kind)}")
            continue
        if isinstance(value, str):
            value = clean_template(value.strip())
        values[name] = value
    # Go on with the fields that are present and well-typed: every problem in one pass.
    known_action = action in ACTIONS
    slug = values.get("slug")
    if slug is not None and not SLUG.match(slug):
        problem("slug", "use lower-case letters, digits and hyphens (at most 64)")
    if "name" in values and not values["name"]:
        problem("name", "must not be empty")
    keywords = _validate_keywords(values.get("keywords", []), problem)
    values["keywords"] = list(keywords)
    _validate_template(
        values.get("identifier", DEFAULT_IDENTIFIER), IDENTIFIER_FIELDS, "identifier", problem
    )
    if "{customer_id}" not in values.get("identifier", DEFAULT_IDENTIFIER):
        problem("identifier", "must contain {customer_id}, or every customer shares one code")
    _validate_journey_fields(action, values, problem)
    reply = values.setdefault("reply", _default_reply(action, values))
    if known_action:
        _validate_template(reply, reply_fields(action, values), "reply", problem)
    for name, allowed in COMPETITION_REPLY_FIELDS.items():
        if name in values:
            _validate_template(values[name], _with_journey_fields(allowed, values), name, problem)
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
    for name in ("brand_colour", "accent_colour"):
        if values.get(name) and not HEX_COLOUR.match(values[name]):
            problem(name, "must be a colour like #0a7d3b")
    for name in ("application_id", "campaign_id", "loyalty_program_id"):
        if name in values and values[name] < 1:
            problem(name, "must be a positive whole number")
    if values.get("usage_limit") is not None and values["usage_limit"] < 0:
        problem("usage_limit", "must be 0 (unlimited) or more")
    if problems:
        return None, problems
    return spec_from_definition(values), []


def spec_from_definition(definition: Mapping[str, Any]) -> CampaignSpec:
    """Build the in-memory spec from a stored (already validated) definition."""
    action = definition.get("action", "coupon")
    return CampaignSpec(
        slug=definition["slug"],
        name=definition["name"],
        action=action,
        keywords=tuple(definition.get("keywords", ())),
        active=definition.get("active", True),
        application_id=definition.get("application_id"),
        campaign_id=definition.get("campaign_id"),
        external_campaign_id=definition.get("external_campaign_id") or definition["slug"],
        identifier=definition.get("identifier", DEFAULT_IDENTIFIER),
        recipient=definition.get("recipient", False),
        usage_limit=definition.get("usage_limit"),
        loyalty_program_id=definition.get("loyalty_program_id"),
        reply=definition.get("reply") or DEFAULT_REPLIES.get(action, ""),
        deferred_reply=definition.get("deferred_reply", DEFAULT_DEFERRED_REPLY),
        options=dict(definition),
    )


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
    return specs, problems


def import_campaigns(db: Session, text: str) -> ImportReport:
    """Validate a campaigns file and store it; nothing changes when any problem is found.

    Campaigns in the database that the file does not mention are left alone. Raises
    CampaignFileError listing every problem.
    """
    specs, problems = validate_campaigns(parse_campaigns_file(text))
    if not problems:
        problems = _keyword_conflicts_with_database(db, specs)
    if problems:
        raise CampaignFileError(problems)
    created, updated, unchanged, warnings = [], [], [], []
    for spec in specs:
        outcome = save_campaign(db, spec)
        {"created": created, "updated": updated, "unchanged": unchanged}[outcome].append(spec.slug)
        warnings.extend(template_warnings(spec))
    return ImportReport(tuple(created), tuple(updated), tuple(unchanged), tuple(warnings))


def save_campaign(db: Session, spec: CampaignSpec) -> str:
    """Create or update one validated campaign; returns created, updated or unchanged."""
    row = db.scalar(select(Campaign).where(Campaign.slug == spec.slug))
    definition = spec.definition
    if row is not None and row.definition == definition:
        return "unchanged"
    outcome = "updated"
    if row is None:
        row = Campaign(slug=spec.slug)
        db.add(row)
        outcome = "created"
    row.name = spec.name
    row.action = spec.action
    row.active = spec.active
    row.definition = definition
    row.updated_at = utcnow()
    db.flush()
    db.execute(delete(Keyword).where(Keyword.campaign_id == row.id))
    for keyword in spec.keywords:
        db.add(Keyword(keyword=keyword, campaign_id=row.id))
    db.flush()
    return outcome


def export_campaigns(db: Session) -> str:
    """Every campaign in the database as a campaigns file, sorted by slug."""
    rows = db.scalars(select(Campaign).order_by(Campaign.slug)).all()
    return tomli_w.dumps({"campaign": [_ordered(row.definition) for row in rows]})


def load_specs(db: Session) -> list[CampaignSpec]:
    """Every stored campaign as a spec."""
    return [
        spec_from_definition(row.definition)
        for row in db.scalars(select(Campaign).order_by(Campaign.slug))
    ]


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


def render_sample(template: str) -> str:
    """Render a template with typical values, to check its length and encoding."""
    sample = {
        "code": "EW-1BC2-XY9Q",
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
        "opens": datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        "closes": datetime(2026, 3, 31, 23, 59, tzinfo=UTC),
    }
    return render_template(template, sample)


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


def reply_fields(action: str, values: Mapping[str, Any]) -> frozenset[str]:
    """The placeholders a campaign's `reply` may use, given its action and options."""
    return _with_journey_fields(REPLY_FIELDS[action], values)


def _with_journey_fields(allowed: frozenset[str], values: Mapping[str, Any]) -> frozenset[str]:
    if values.get("also_coupon"):
        allowed = allowed | CODE_FIELDS
    if "closes_at" not in values:
        allowed = allowed - {"closes"}
    return allowed


def _default_reply(action: str, values: Mapping[str, Any]) -> str:
    if action == "competition" and values.get("also_coupon"):
        return DEFAULT_COMPETITION_COUPON_REPLY
    return DEFAULT_REPLIES.get(action, "")


def _validate_journey_fields(
    action: str, values: dict[str, Any], problem: Callable[[str, str], None]
) -> None:
    """Competition, birthday and loyalty-points rules; normalises times in `values`."""
    for name, actions in ACTION_ONLY_FIELDS.items():
        if name in values and action not in actions:
            problem(name, f"only applies to {' or '.join(actions)} campaigns")
    for name in ("opens_at", "closes_at"):
        if name in values:
            try:
                values[name] = _canonical_moment(values[name])
            except ValueError:
                problem(name, "must be a date or date-time such as 2026-03-31T23:59:00+11:00")
                del values[name]
    if "opens_at" in values and "closes_at" in values:
        zone = UTC  # any fixed zone compares naive values consistently
        if moment_of(values["opens_at"], zone) >= moment_of(values["closes_at"], zone, end=True):
            problem("closes_at", "must be after opens_at")
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
    if values.get("also_coupon"):
        for name in ("application_id", "campaign_id"):
            if name not in values:
                problem(name, "is required with also_coupon = true")
    if "award_points" in values:
        if values["award_points"] <= 0:
            problem("award_points", "must be more than 0")
        if "loyalty_program_id" not in values:
            problem("loyalty_program_id", "is required with award_points")
    if action == "birthday":
        identifier = values.setdefault("identifier", BIRTHDAY_IDENTIFIER)
        if "{year}" not in identifier and "{date}" not in identifier:
            problem("identifier", "must contain {year}, or every birthday gets last year's code")


def _canonical_moment(value: datetime | date | str) -> str:
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


def _validate_keywords(raw: list[Any], problem: Callable[[str, str], None]) -> list[str]:
    keywords: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            problem("keywords", "must be a list of words")
            continue
        keyword = item.strip().upper()
        if not KEYWORD.match(keyword):
            problem("keywords", f"{item!r} must be one word of letters and digits")
        elif is_reserved(keyword):
            problem("keywords", f"{keyword} is reserved for opt-out/opt-in/help")
        elif keyword == "Y":
            problem("keywords", "Y is reserved for confirming SMS club sign-ups")
        elif keyword in keywords:
            problem("keywords", f"{keyword} is listed twice")
        else:
            keywords.append(keyword)
    return keywords


def _validate_template(
    template: str, allowed: frozenset[str], name: str, problem: Callable[[str, str], None]
) -> None:
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


def keyword_conflicts(db: Session, specs: list[CampaignSpec]) -> list[str]:
    """Problems for keywords that a stored campaign outside `specs` already owns."""
    return _keyword_conflicts_with_database(db, specs)


def _keyword_conflicts_with_database(db: Session, specs: list[CampaignSpec]) -> list[str]:
    slugs = {spec.slug for spec in specs}
    owners = dict(db.execute(select(Keyword.keyword, Campaign.slug).join(Campaign)).all())
    problems = []
    for spec in specs:
        for keyword in spec.keywords:
            owner = owners.get(keyword)
            if owner is not None and owner not in slugs and owner != spec.slug:
                problems.append(
                    f"campaign {spec.slug}, field keywords: {keyword} is already used by {owner}"
                )
    return problems


def _ordered(definition: Mapping[str, Any]) -> dict[str, Any]:
    order = list(FIELDS)
    return dict(
        sorted(
            definition.items(),
            key=lambda item: order.index(item[0]) if item[0] in order else len(order),
        )
    )


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "text", int: "a whole number", bool: "true or false", list: "a list"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


class CampaignBook:
    """The campaigns in memory, by keyword and slug, refreshed from the database now and then.

    The webhook reads campaigns on every text; they change rarely. Each process reloads them
    when its copy is older than `max_age_seconds` (so an import in another process shows up
    within that time) or at once after a change made through this book.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        max_age_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._max_age = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded_at: float | None = None
        self._by_keyword: dict[str, CampaignSpec] = {}
        self._by_slug: dict[str, CampaignSpec] = {}

    def invalidate(self) -> None:
        """Forget the cached copy; the next read reloads."""
        self._loaded_at = None

    def by_keyword(self, keyword: str) -> CampaignSpec | None:
        """The campaign a keyword belongs to, active or not."""
        self._refresh()
        return self._by_keyword.get(keyword)

    def by_slug(self, slug: str) -> CampaignSpec | None:
        """The campaign with this slug, active or not."""
        self._refresh()
        return self._by_slug.get(slug)

    def all(self) -> list[CampaignSpec]:
        """Every campaign, sorted by slug."""
        self._refresh()
        return sorted(self._by_slug.values(), key=lambda spec: spec.slug)

    def active_keywords(self) -> list[str]:
        """The keywords customers can text right now, sorted."""
        self._refresh()
        return sorted(k for k, spec in self._by_keyword.items() if spec.active)

    def _refresh(self) -> None:
        now = self._clock()
        if self._loaded_at is not None and now - self._loaded_at < self._max_age:
            return
        with self._lock:
            if self._loaded_at is not None and now - self._loaded_at < self._max_age:
                return
            with self._sessions() as db:
                specs = load_specs(db)
            self._by_slug = {spec.slug: spec for spec in specs}
            self._by_keyword = {kw: spec for spec in specs for kw in spec.keywords}
            self._loaded_at = now
