"""Single sign-on (OpenID Connect): who an identity provider's verified ID token logs in as.

The HTTP side (discovery, authorization code with PKCE, the ID token's RS256 signature, its
issuer, audience, expiry and nonce) is Authlib's, in handlers/admin/sso.py; this module gets
the token's verified claims. An identity is its (`iss`, `sub`) pair, linked to a console user
on first log-in: to the account with the token's email when the provider says the email is
verified, or to a new account, a viewer unless OIDC_ROLE_CLAIM says otherwise. A new account
has no usable password (SSO only). When the role claim maps to a role, that role is handed to
`assign_role` at log-in when it differs: the identity provider is where roles are managed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from selfserve.console.events import RecordEvent
from selfserve.console.users import ConsoleAccount, find_user, normalise_email
from selfserve.errors import ConsoleUserError, SingleSignOnError
from selfserve.models import ConsoleSsoIdentity, ConsoleUser, utcnow
from selfserve.ops import ROLES, RoleClaim

log = logging.getLogger(__name__)

NEW_USER_ROLE = "viewer"
SSO_ONLY_PASSWORD = "!sso-only"  # noqa: S105 - not a hash: no password ever verifies against it

AssignRole = Callable[[ConsoleAccount, str], None]


def log_role_assignment(account: ConsoleAccount, role: str) -> None:
    """The default `assign_role` while roles are not wired: a log line (`console_role_wanted`)."""
    log.info("console_role_wanted", extra={"user_id": account.id, "role": role})


@dataclass(frozen=True)
class SsoLogIn:
    """Who logged in through SSO, the role the claim asked for (or None), and whether new."""

    account: ConsoleAccount
    role: str | None
    created: bool
    role_change: str | None = None  # the claimed role, when an existing user has another


def role_from_claims(claims: Mapping[str, Any], role_claim: RoleClaim) -> str | None:
    """The most privileged role the claim's value(s) map to, or None (no claim, no match)."""
    if not role_claim.claim:
        return None
    value = claims.get(role_claim.claim)
    values = value if isinstance(value, list | tuple) else [value]
    wanted = {role_claim.values.get(str(item)) for item in values if item is not None}
    return next((role for role in ROLES if role in wanted), None)


class SingleSignOn:
    """Turns an identity provider's verified claims into a console account."""

    def __init__(
        self,
        issuer: str,
        role_claim: RoleClaim,
        record_event: RecordEvent,
        assign_role: AssignRole = log_role_assignment,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.issuer = issuer
        self._role_claim = role_claim
        self._record = record_event
        self._assign_role = assign_role
        self._clock = clock

    def log_in(
        self, db: Session, claims: Mapping[str, Any], address: str | None = None
    ) -> SsoLogIn:
        """The account these verified claims log in as (made or linked on first log-in).

        Raises SingleSignOnError for another issuer, no subject, or no usable email.
        """
        issuer, subject = str(claims.get("iss", "")), str(claims.get("sub", ""))
        if issuer.rstrip("/") != self.issuer.rstrip("/") or not subject:
            self._refuse(str(claims.get("email", "")), "another issuer or no subject", address)
        identity = db.scalar(
            select(ConsoleSsoIdentity).where(
                ConsoleSsoIdentity.issuer == issuer, ConsoleSsoIdentity.subject == subject
            )
        )
        claimed = role_from_claims(claims, self._role_claim)
        created = False
        if identity is not None:
            user = db.get(ConsoleUser, identity.user_id)
        else:
            user, created = self._link(db, claims, (issuer, subject), claimed, address)
        if user is None:
            self._refuse(subject, "the linked account is gone", address)
        if not user.is_active:
            self._refuse(user.email, "the account is deactivated", address)
        role = claimed or (user.role if created else None)
        change = claimed if claimed not in (None, user.role) and not created else None
        user.last_login_at = self._clock()
        db.flush()
        account = find_user(db, user.id)
        changes = {"method": "sso", "role": role, "new_user": created}
        self._record(account.email, "login", account.email, "ok", address, changes)
        return SsoLogIn(account, role, created, change)

    def settle_role(self, signed_in: SsoLogIn) -> None:
        """Hand an existing user's changed claimed role to `assign_role`; call it after
        `log_in`'s transaction has ended (`assign_role` writes in a transaction of its own)."""
        if signed_in.role_change is not None:
            self._assign_role(signed_in.account, signed_in.role_change)

    def _link(
        self,
        db: Session,
        claims: Mapping[str, Any],
        identity: tuple[str, str],
        role: str | None,
        address: str | None,
    ) -> tuple[ConsoleUser, bool]:
        """First log-in of this identity: the account with its verified email, or a new one
        (with the claimed role, else a viewer)."""
        issuer, subject = identity
        try:
            email = normalise_email(str(claims.get("email", "")))
        except ConsoleUserError:
            self._refuse(subject, "no usable email claim", address)
        user = db.scalar(select(ConsoleUser).where(ConsoleUser.email == email))
        created = user is None
        if user is not None and claims.get("email_verified") is not True:
            # Linking by an address the provider has not verified would let anyone who can
            # type a colleague's email at the provider take over their console account.
            self._refuse(email, "email not verified by the identity provider", address)
        if user is None:
            user = ConsoleUser(
                email=email,
                password_hash=SSO_ONLY_PASSWORD,
                created_at=self._clock(),
                role=role or NEW_USER_ROLE,  # never the column's default (owner)
                is_active=True,
                session_generation=0,
            )
            db.add(user)
        try:
            with db.begin_nested():
                db.flush()
                db.add(ConsoleSsoIdentity(issuer=issuer, subject=subject, user_id=user.id))
                db.flush()
        except IntegrityError:  # the same first log-in twice at once: the other one won
            raise SingleSignOnError("Please try again.") from None
        return user, created

    def _refuse(self, who: str, reason: str, address: str | None) -> NoReturn:
        self._record(who or "(unknown)", "login", who or "(unknown)", f"refused: {reason}", address)
        raise SingleSignOnError(f"Single sign-on did not log you in: {reason}.")
