"""Console users: marketers who log in to /admin/, with argon2-hashed passwords and a role.

Accounts are made on the command line (`flask --app app users create EMAIL`) or by an owner's
invitation (console/invites.py). Only an argon2id hash is stored, and a login for an unknown
email costs the same hashing work as a wrong password, so the answer time does not reveal which
emails exist. A password or role change raises the user's session generation, which ends every
session started before it. The last active owner cannot be demoted or deactivated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from selfserve.console.passwords import MAX_PASSWORD_LENGTH, PasswordPolicy
from selfserve.console.roles import DEFAULT_ROLE, FIRST_USER_ROLE, check_role
from selfserve.errors import ConsoleUserError
from selfserve.models import ConsoleUser, utcnow

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
# OWASP's argon2id settings (19 MiB, 2 passes, 1 lane): strong against offline guessing, yet a
# burst of log-in attempts cannot make the server allocate 64 MiB each, as argon2's defaults do.
# Hashes made with other settings still verify and are upgraded at the next log-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_RULES_ONLY = PasswordPolicy()  # length and common passwords; no network


@dataclass(frozen=True)
class ConsoleAccount:
    """A console user as pages and the log-in code see it: never the hash."""

    id: int
    email: str
    role: str = "owner"
    is_active: bool = True
    session_generation: int = 0


def _account(user: ConsoleUser) -> ConsoleAccount:
    return ConsoleAccount(
        user.id, user.email, user.role, bool(user.is_active), user.session_generation or 0
    )


def normalise_email(raw: str) -> str:
    """The email as it is stored: trimmed and lower-cased; raises ConsoleUserError if unusable."""
    email = (raw or "").strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ConsoleUserError(f"{raw.strip()!r} is not an email address")
    return email


def create_user(
    db: Session,
    email: str,
    password: str,
    role: str | None = None,
    *,
    policy: PasswordPolicy = _RULES_ONLY,
    clock: Callable[[], datetime] = utcnow,
) -> ConsoleAccount:
    """Create a console user; raises ConsoleUserError for a bad or taken email or password.

    Without `role`, the first user ever is an owner and later ones are viewers.
    """
    address = normalise_email(email)
    chosen = check_role(role) if role else None
    policy.check(password)
    if chosen is None:
        has_users = db.scalar(select(func.count()).select_from(ConsoleUser))
        chosen = DEFAULT_ROLE if has_users else FIRST_USER_ROLE
    user = ConsoleUser(
        email=address,
        password_hash=_hasher.hash(password),
        created_at=clock(),
        role=chosen,
        is_active=True,
        session_generation=0,
    )
    try:
        with db.begin_nested():
            db.add(user)
    except IntegrityError:
        # The UNIQUE constraint, not a lookup, decides: two simultaneous creates cannot both win.
        raise ConsoleUserError(f"{address} already has an account") from None
    return _account(user)


def _user_by_email(db: Session, email: str) -> ConsoleUser:
    user = db.scalar(select(ConsoleUser).where(ConsoleUser.email == normalise_email(email)))
    if user is None:
        raise ConsoleUserError(f"no console user {email.strip().lower()}")
    return user


def set_password(
    db: Session, email: str, password: str, *, policy: PasswordPolicy = _RULES_ONLY
) -> ConsoleAccount:
    """Give a user a new password and end their sessions; raises ConsoleUserError."""
    policy.check(password)
    user = _user_by_email(db, email)
    user.password_hash = _hasher.hash(password)
    user.session_generation = (user.session_generation or 0) + 1
    db.flush()
    return _account(user)


def set_role(db: Session, email: str, role: str) -> tuple[str, ConsoleAccount]:
    """Give a user another role (ending their sessions); returns the old role and the account.

    Raises ConsoleUserError for an unknown user or role, or when it would leave no owner.
    """
    new_role = check_role(role)
    user = _user_by_email(db, email)
    old_role = user.role
    if old_role == new_role:
        return old_role, _account(user)
    if old_role == "owner" and user.is_active:
        _keep_an_owner(db, user)
    user.role = new_role
    user.session_generation = (user.session_generation or 0) + 1
    db.flush()
    return old_role, _account(user)


def set_active(db: Session, email: str, is_active: bool) -> ConsoleAccount:
    """Deactivate (or reactivate) a user; a deactivated user cannot log in, sessions end.

    Raises ConsoleUserError for an unknown user, or when it would leave no active owner.
    """
    user = _user_by_email(db, email)
    if not is_active and user.is_active and user.role == "owner":
        _keep_an_owner(db, user)
    if bool(user.is_active) != is_active:
        user.is_active = is_active
        user.session_generation = (user.session_generation or 0) + 1
    db.flush()
    return _account(user)


def _keep_an_owner(db: Session, leaving: ConsoleUser) -> None:
    """Raise ConsoleUserError when `leaving` is the last active owner.

    The owners' rows are locked (PostgreSQL) so two owners demoting each other at the same
    moment cannot both succeed.
    """
    owners = db.scalars(
        select(ConsoleUser.id)
        .where(ConsoleUser.role == "owner", ConsoleUser.is_active.is_(True))
        .with_for_update()
    ).all()
    if [owner for owner in owners if owner != leaving.id] == []:
        raise ConsoleUserError(f"{leaving.email} is the last owner: make another owner first")


def authenticate(
    db: Session, email: str, password: str, clock: Callable[[], datetime] = utcnow
) -> ConsoleAccount | None:
    """The active account when email and password match, else None (no hint which was wrong)."""
    if not password or len(password) > MAX_PASSWORD_LENGTH:
        return None
    try:
        address = normalise_email(email)
    except ConsoleUserError:
        address = ""
    user = db.scalar(select(ConsoleUser).where(ConsoleUser.email == address)) if address else None
    stored_hash = user.password_hash if user is not None else _decoy_hash()
    try:
        _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = clock()
    db.flush()
    return _account(user)


def check_password(db: Session, user_id: int, password: str) -> bool:
    """True when `password` is this user's current one (re-authentication before a change)."""
    user = db.get(ConsoleUser, user_id)
    if user is None or not password or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def find_user(db: Session, user_id: int) -> ConsoleAccount | None:
    """The account with this id, or None (e.g. deleted since the session began)."""
    user = db.get(ConsoleUser, user_id)
    return None if user is None else _account(user)


def list_users(db: Session) -> list[ConsoleAccount]:
    """Every console user, by email."""
    return [_account(user) for user in db.scalars(select(ConsoleUser).order_by(ConsoleUser.email))]


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher.hash("not-a-real-password-only-spends-the-same-time")
