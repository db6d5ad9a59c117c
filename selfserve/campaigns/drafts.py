"""Campaigns written through the console's form, judged by the very rules `campaigns import` uses.

A form sends text; this turns it into the raw table a campaigns file would hold, then hands it to
`validate_campaign` and `save_campaign`. Problems come back grouped by field so the page can show
each next to its input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from selfserve.campaigns.book import keyword_conflicts, save_campaign
from selfserve.campaigns.fields import FIELDS
from selfserve.campaigns.spec import CampaignSpec
from selfserve.campaigns.templates import template_warnings
from selfserve.campaigns.validation import validate_campaign
from selfserve.models import Campaign

_PROBLEM = re.compile(r"^campaign .*?, field (?P<field>[a-z_]+): (?P<message>.*)$", re.DOTALL)
_WHOLE_NUMBER = re.compile(r"^[+-]?\d{1,18}$")
_KEYWORD_SEPARATORS = re.compile(r"[\s,;]+")
GENERAL = "_general"  # problems that belong to no single field


@dataclass(frozen=True)
class DraftResult:
    """What saving a draft did: the stored spec, or the problems by field (nothing saved)."""

    spec: CampaignSpec | None
    outcome: str = ""  # created | updated | unchanged
    problems: dict[str, list[str]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def is_saved(self) -> bool:
        """True when the campaign was stored (or already was exactly so)."""
        return self.spec is not None


def definition_from_form(
    form: Mapping[str, str],
    shown_fields: Iterable[str],
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The raw campaign table a form describes, typed as a campaigns file would type it.

    Only `shown_fields` are read from the form; other fields of `base` (the stored definition)
    are kept, so fields the form does not show survive an edit. An empty input means "not set".
    Text that is not a whole number goes through as text, so the validator names the field.
    """
    raw: dict[str, Any] = dict(base or {})
    for name in shown_fields:
        rule = FIELDS.get(name)
        if rule is None:
            continue
        was_set = raw.pop(name, None) is not None
        if rule.kind is bool:
            checked = form.get(name, "") in ("on", "true", "1", "yes")
            if was_set or checked != rule.default:  # keep the file as short as it was
                raw[name] = checked
            continue
        text = (form.get(name) or "").strip()
        if not text:
            continue
        if rule.kind is list:
            raw[name] = [word for word in _KEYWORD_SEPARATORS.split(text) if word]
        elif rule.kind is int:
            raw[name] = int(text) if _WHOLE_NUMBER.match(text) else text
        else:
            raw[name] = text
    return raw


def problems_by_field(problems: Iterable[str]) -> dict[str, list[str]]:
    """Group "campaign X, field Y: message" problems by field, keeping only the message."""
    grouped: dict[str, list[str]] = {}
    for problem in problems:
        match = _PROBLEM.match(problem)
        name, message = (match["field"], match["message"]) if match else (GENERAL, problem)
        grouped.setdefault(name, []).append(message)
    return grouped


def save_draft(db: Session, raw: Mapping[str, Any], *, is_new: bool) -> DraftResult:
    """Validate a campaign from the console and store it; nothing is stored on any problem.

    `is_new` refuses a slug that is taken, so "create" never overwrites another campaign.
    """
    label = str(raw.get("slug") or "new")
    spec, problems = validate_campaign(raw, label)
    if spec is not None and is_new and _slug_taken(db, spec.slug):
        problems.append(f"campaign {label}, field slug: {spec.slug} is already taken")
    if spec is not None and not problems:
        problems = keyword_conflicts(db, [spec])
    if spec is None or problems:
        return DraftResult(None, problems=problems_by_field(problems))
    outcome = save_campaign(db, spec)
    return DraftResult(spec, outcome, warnings=tuple(template_warnings(spec)))


def stored_definition(db: Session, slug: str) -> dict[str, Any] | None:
    """The stored definition of a campaign (as the campaigns file has it), or None."""
    definition = db.scalar(select(Campaign.definition).where(Campaign.slug == slug))
    return None if definition is None else dict(definition)


def set_active(db: Session, slug: str, active: bool) -> DraftResult | None:
    """Pause or resume a campaign, through the same validation; None if there is no such slug."""
    definition = stored_definition(db, slug)
    if definition is None:
        return None
    definition["active"] = active
    return save_draft(db, definition, is_new=False)


def _slug_taken(db: Session, slug: str) -> bool:
    return db.scalar(select(Campaign.id).where(Campaign.slug == slug)) is not None
