"""Console tables: the marketers who may log in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from selfserve.models.base import Base, utcnow


class ConsoleUser(Base):
    """A marketer who may log in to the console; only an argon2 hash of the password is kept."""

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
