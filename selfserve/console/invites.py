"""Invitations: an owner invites an email with a role; a one-time link lets them set a password.

Only the SHA-256 of the link's token is stored. A link works once, and for 24 hours.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from selfserve.console.passwords import PasswordPolicy
from selfserve.console.roles import check_role
from selfserve.console.users import ConsoleAccount, create_user, normalise_email
from selfserve.errors import ConsoleUserError
from selfserve.models import ConsoleInvite, ConsoleUser

INVITE_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class Invitation:
    """An open invitation as the link's page shows it."""

    email: str
    role: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_invite(db: Session, email: str, role: str, invited_by: str, now: datetime) -> str:
    """Store an invitation and return its one-time token (shown once, never stored).

    Raises ConsoleUserError for a bad email or role, or an email that already has an account.
    """
    address = normalise_email(email)
    chosen = check_role(role)
    if db.scalar(select(ConsoleUser.id).where(ConsoleUser.email == address)) is not None:
        raise ConsoleUserError(f"{address} already has an account")
    token = secrets.token_urlsafe(32)
    db.add(
        ConsoleInvite(
            token_hash=_digest(token),
            email=address,
            role=chosen,
            invited_by=invited_by,
            created_at=now,
            expires_at=now + INVITE_LIFETIME,
        )
    )
    db.flush()
    return token


def _open_invite(db: Session, token: str, now: datetime) -> ConsoleInvite | None:
    if not token or len(token) > 128:
        return None
    invite = db.scalar(select(ConsoleInvite).where(ConsoleInvite.token_hash == _digest(token)))
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return None
    return invite


def find_invite(db: Session, token: str, now: datetime) -> Invitation | None:
    """The invitation behind `token`, or None when it is unknown, used or expired."""
    invite = _open_invite(db, token, now)
    return None if invite is None else Invitation(invite.email, invite.role, invite.expires_at)


def accept_invite(
    db: Session, token: str, password: str, policy: PasswordPolicy, now: datetime
) -> ConsoleAccount:
    """Create the invited account with `password`; the link then stops working.

    Raises ConsoleUserError when the link is no longer valid or the password is refused.
    """
    invite = db.scalar(
        select(ConsoleInvite)
        .where(ConsoleInvite.token_hash == _digest(token or ""))
        .with_for_update()
    )
    if invite is None or _open_invite(db, token, now) is None:
        raise ConsoleUserError("this invitation link has expired or was already used")
    account = create_user(db, invite.email, password, invite.role, policy=policy, clock=lambda: now)
    invite.used_at = now
    db.flush()
    return account
