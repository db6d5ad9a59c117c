"""The campaigns file in and out of the database, and the in-memory CampaignBook.

Import reads a whole file, judges it by the rules in `selfserve.campaigns.validation` and
stores it only when every campaign passes; export writes the stored campaigns back as a file.
"""

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tomli_w
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns.fields import ordered
from selfserve.campaigns.spec import CampaignSpec, spec_from_definition
from selfserve.campaigns.templates import template_warnings
from selfserve.campaigns.validation import near_keyword_conflicts, validate_campaigns
from selfserve.errors import CampaignFileError
from selfserve.models import Campaign, Keyword, utcnow


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


def import_campaigns(db: Session, text: str) -> ImportReport:
    """Validate a campaigns file and store it; nothing changes when any problem is found.

    Campaigns in the database that the file does not mention are left alone. Raises
    CampaignFileError listing every problem.
    """
    specs, problems = validate_campaigns(parse_campaigns_file(text))
    if not problems:
        problems = keyword_conflicts(db, specs)
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
    return tomli_w.dumps({"campaign": [ordered(row.definition) for row in rows]})


def load_specs(db: Session) -> list[CampaignSpec]:
    """Every stored campaign as a spec."""
    return [
        spec_from_definition(row.definition)
        for row in db.scalars(select(Campaign).order_by(Campaign.slug))
    ]


def keyword_conflicts(db: Session, specs: list[CampaignSpec]) -> list[str]:
    """Problems for keywords that a stored campaign outside `specs` already owns."""
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
    stored = [other for other in load_specs(db) if other.slug not in slugs]
    return problems + near_keyword_conflicts(specs, stored)


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

    def cached_by_keyword(self, keyword: str) -> CampaignSpec | None:
        """The campaign of a keyword as last loaded, without asking the database (which may
        be what is down)."""
        return self._by_keyword.get(keyword)

    def cached_by_slug(self, slug: str) -> CampaignSpec | None:
        """The campaign with this slug as last loaded, without asking the database."""
        return self._by_slug.get(slug)

    def by_slug(self, slug: str) -> CampaignSpec | None:
        """The campaign with this slug, active or not."""
        self._refresh()
        return self._by_slug.get(slug)

    def all(self) -> list[CampaignSpec]:
        """Every campaign, sorted by slug."""
        self._refresh()
        return sorted(self._by_slug.values(), key=lambda spec: spec.slug)

    def keyword_map(self) -> dict[str, CampaignSpec]:
        """Every keyword with its campaign; the same object until the book reloads."""
        self._refresh()
        return self._by_keyword

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
