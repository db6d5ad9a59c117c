"""Console users: marketers who log in to /admin/, with argon2-hashed passwords.

Accounts are made on the command line (`flask --app app users create EMAIL`); the console only
checks passwords. Only an argon2id hash is stored, and a login for an unknown email costs the
same hashing work as a wrong password, so the answer time does not reveal which emails exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from selfserve.errors import ConsoleUserError
from selfserve.models import ConsoleUser, utcnow

MIN_PASSWORD_LENGTH = 8  # NIST SP 800-63B's floor for chosen passwords
MAX_PASSWORD_LENGTH = 1024  # hashing a megabyte "password" is a cheap denial of service
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
# OWASP's argon2id settings (19 MiB, 2 passes, 1 lane): strong against offline guessing, yet a
# burst of log-in attempts cannot make the server allocate 64 MiB each, as argon2's defaults do.
# Hashes made with other settings still verify and are upgraded at the next log-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@dataclass(frozen=True)
class ConsoleAccount:
    """A console user as pages and the log-in code see it: never the hash."""

    id: int
    email: str


def normalise_email(raw: str) -> str:
    """The email as it is stored: trimmed and lower-cased; raises ConsoleUserError if unusable."""
    email = (raw or "").strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ConsoleUserError(f"{raw.strip()!r} is not an email address")
    return email


def check_password_rules(password: str) -> None:
    """Raise ConsoleUserError when a new password is too short or absurdly long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConsoleUserError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ConsoleUserError(f"the password may have at most {MAX_PASSWORD_LENGTH} characters")


def create_user(
    db: Session, email: str, password: str, clock: Callable[[], datetime] = utcnow
) -> ConsoleAccount:
    """Create a console user; raises ConsoleUserError for a bad or taken email or password."""
    address = normalise_email(email)
    check_password_rules(password)
    user = ConsoleUser(email=address, password_hash=_hasher.hash(password), created_at=clock())
    try:
        with db.begin_nested():
            db.add(user)
    except IntegrityError:
        # The UNIQUE constraint, not a lookup, decides: two simultaneous creates cannot both win.
        raise ConsoleUserError(f"{address} already has an account") from None
    return ConsoleAccount(user.id, user.email)


def set_password(db: Session, email: str, password: str) -> ConsoleAccount:
    """Give an existing user a new password; raises ConsoleUserError if there is no such user."""
    check_password_rules(password)
    user = db.scalar(select(ConsoleUser).where(ConsoleUser.email == normalise_email(email)))
    if user is None:
        raise ConsoleUserError(f"no console user {email.strip().lower()}")
    user.password_hash = _hasher.hash(password)
    db.flush()
    return ConsoleAccount(user.id, user.email)


def authenticate(
    db: Session, email: str, password: str, clock: Callable[[], datetime] = utcnow
) -> ConsoleAccount | None:
    """The account when email and password match, else None (and no hint which one was wrong)."""
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
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = clock()
    db.flush()
    return ConsoleAccount(user.id, user.email)


def find_user(db: Session, user_id: int) -> ConsoleAccount | None:
    """The account with this id, or None (e.g. deleted since the session began)."""
    user = db.get(ConsoleUser, user_id)
    return None if user is None else ConsoleAccount(user.id, user.email)


def find_user_by_email(db: Session, email: str) -> ConsoleAccount | None:
    """The account with this email (any case), or None."""
    try:
        address = normalise_email(email)
    except ConsoleUserError:
        return None
    user = db.scalar(select(ConsoleUser).where(ConsoleUser.email == address))
    return None if user is None else ConsoleAccount(user.id, user.email)


def list_users(db: Session) -> list[ConsoleAccount]:
    """Every console user, by email."""
    return [
        ConsoleAccount(user.id, user.email)
        for user in db.scalars(select(ConsoleUser).order_by(ConsoleUser.email))
    ]


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher.hash("not-a-real-password-only-spends-the-same-time")
