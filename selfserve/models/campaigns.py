"""Campaign tables: each imported campaign and the keywords that reach it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from selfserve.models.base import Base, utcnow


class Campaign(Base):
    """A campaign as imported: the whole validated definition, plus what queries need."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)
    definition: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Keyword(Base):
    """A word customers text; each belongs to exactly one campaign."""

    __tablename__ = "keywords"

    keyword: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
