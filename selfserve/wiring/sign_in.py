"""The console's sign-in collaborators: second factors, passkeys, SSO, and where events go.

Security events (enrolments, replays, recovery codes, resets, SSO log-ins) go to
`record_event`: the audit trail's `record`, each event appended once the transaction it was
recorded in has ended. SSO's role claim goes to `assign_role`: the users' `set_role`, which
never demotes the last owner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from selfserve.console import (
    AssignRole,
    ConsoleAccount,
    Passkeys,
    RecordAfterTransaction,
    RecordEvent,
    SecondFactors,
    SingleSignOn,
    set_role,
)
from selfserve.errors import ConsoleUserError
from selfserve.ops import Settings, parse_role_claim

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignIn:
    """What the console's log-in needs beyond passwords."""

    record_event: RecordEvent
    factors: SecondFactors
    passkeys: Passkeys
    sso: SingleSignOn | None  # None unless OIDC_ISSUER is set

    def services_fields(self) -> dict[str, Any]:
        """These collaborators under their names in Services."""
        return {
            "record_event": self.record_event,
            "factors": self.factors,
            "passkeys": self.passkeys,
            "sso": self.sso,
        }


def build_sign_in(settings: Settings, record_event: RecordEvent, assign_role: AssignRole) -> SignIn:
    """Second factors and passkeys (named after PROGRAM_NAME in apps), and SSO when
    OIDC_ISSUER is set, with `record_event`; SSO hands roles from OIDC_ROLE_CLAIM to
    `assign_role`."""
    sso = None
    if settings.oidc_issuer:
        role_claim = parse_role_claim(settings.oidc_role_claim)
        sso = SingleSignOn(settings.oidc_issuer, role_claim, record_event, assign_role)
    return SignIn(
        record_event=record_event,
        factors=SecondFactors(record_event, issuer=settings.program_name),
        passkeys=Passkeys(settings.public_base_url, settings.program_name, record_event),
        sso=sso,
    )


def audited_sign_in(
    settings: Settings, writes: sessionmaker[Session], record: RecordEvent
) -> SignIn:
    """`build_sign_in` with the audit trail's `record` and roles set through `set_role`."""
    record_event = RecordAfterTransaction(record, writes)
    return build_sign_in(settings, record_event, role_assigner(writes, record_event))


def role_assigner(writes: sessionmaker[Session], record_event: RecordEvent) -> AssignRole:
    """`assign_role(account, role)`: the user's role set (their other sessions end), recorded
    as `user_role` by `sso`; refused, and recorded so, when it would demote the last owner."""

    def assign_role(account: ConsoleAccount, role: str) -> None:
        try:
            with writes.begin() as db:
                old_role, changed = set_role(db, account.email, role)
        except ConsoleUserError as problem:
            log.warning("sso_role_refused", extra={"user_id": account.id, "role": role})
            record_event("sso", "user_role", account.email, f"refused: {problem}")
            return
        if old_role != changed.role:
            change = {"role": {"before": old_role, "after": changed.role}}
            record_event("sso", "user_role", account.email, "ok", None, change)

    return assign_role
