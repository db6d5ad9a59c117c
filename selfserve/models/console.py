"""Console tables: the marketers who may log in, their invitations, and the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from selfserve.models.base import Base, utcnow


class ConsoleUser(Base):
    """A marketer who may log in to the console; only an argon2 hash of the password is kept.

    `session_generation` goes up when the password or role changes: a session started under an
    older generation is over (selfserve/console/sessions.py). Users that existed before roles
    were introduced became owners, so nobody lost access on upgrade.
    """

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    role: Mapped[str] = mapped_column(String(16), server_default="owner")
    is_active: Mapped[bool] = mapped_column(server_default=true())
    session_generation: Mapped[int] = mapped_column(server_default="0")


class ConsoleInvite(Base):
    """A one-time link an owner sent: whoever opens it first sets a password (SHA-256 kept)."""

    __tablename__ = "console_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class AuditEvent(Base):
    """One row of the append-only audit trail; `row_hash` chains it to the row before."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(254))
    outcome: Mapped[str] = mapped_column(String(32))
    changes: Mapped[str] = mapped_column(Text)  # canonical JSON: {field: [before, after]}
    previous_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(Base):
    """Where the kept trail starts after pruning: the hash of the last row pruned."""

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(primary_key=True)
    pruned_through_id: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
    pruned_at: Mapped[datetime]
