"""The console's sign-in collaborators: second factors, passkeys, SSO, and where events go.

Security events (enrolments, replays, recovery codes, resets, SSO log-ins) go to
`record_event`; here a log line (`console_event`). The audit trail replaces it at merge, and
the roles' `assign_role(account, role)` replaces `log_role_assignment` for SSO's role claim.
"""

from __future__ import annotations

from dataclasses import dataclass

from selfserve.console import (
    AssignRole,
    Passkeys,
    RecordEvent,
    SecondFactors,
    SingleSignOn,
    log_event,
    log_role_assignment,
)
from selfserve.ops import Settings, parse_role_claim


@dataclass(frozen=True)
class SignIn:
    """What the console's log-in needs beyond passwords."""

    record_event: RecordEvent
    factors: SecondFactors
    passkeys: Passkeys
    sso: SingleSignOn | None  # None unless OIDC_ISSUER is set


def build_sign_in(
    settings: Settings,
    record_event: RecordEvent = log_event,
    assign_role: AssignRole = log_role_assignment,
) -> SignIn:
    """Second factors and passkeys (named after PROGRAM_NAME in apps), and SSO when
    OIDC_ISSUER is set, with `record_event`; SSO hands roles from OIDC_ROLE_CLAIM to
    `assign_role` (a log line until roles are wired to it)."""
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
