"""Second-factor tables: a console user's authenticator app, recovery codes, passkeys, SSO links.

Kept apart from `console_users` (one row per factor, several passkeys per user), so a user's
factors are removed by deleting rows and a reset leaves the account itself untouched.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selfserve.models.base import Base, utcnow


class ConsoleTotp(Base):
    """An authenticator app's shared secret (RFC 6238); unconfirmed until a code proves it.

    `last_step` is the 30-second time step of the last code accepted at log-in: a code of that
    step or an earlier one is a replay and is refused.
    """

    __tablename__ = "console_totp"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("console_users.id", ondelete="CASCADE"), index=True
    )
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class ConsoleRecoveryCode(Base):
    """One of a user's one-time recovery codes: only a salted SHA-256 of it is kept."""

    __tablename__ = "console_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("console_users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class ConsolePasskey(Base):
    """A WebAuthn credential (passkey) a user registered, under the name they gave it."""

    __tablename__ = "console_passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("console_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE-encoded
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    user_handle: Mapped[str] = mapped_column(String(128))  # base64url; one per user
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class ConsoleSsoIdentity(Base):
    """Which console user an identity provider's subject (`iss`, `sub`) logs in as."""

    __tablename__ = "console_sso_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_console_sso_identities"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("console_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
