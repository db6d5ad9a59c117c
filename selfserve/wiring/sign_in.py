"""The console's sign-in collaborators: second factors, passkeys, SSO, and where events go.

Security events (enrolments, replays, recovery codes, resets, SSO log-ins) go to
`record_event`; here a log line (`console_event`). The audit trail replaces it at merge.
"""

from __future__ import annotations

from dataclasses import dataclass

from selfserve.console import Passkeys, RecordEvent, SecondFactors, log_event
from selfserve.ops import Settings


@dataclass(frozen=True)
class SignIn:
    """What the console's log-in needs beyond passwords."""

    record_event: RecordEvent
    factors: SecondFactors
    passkeys: Passkeys


def build_sign_in(settings: Settings, record_event: RecordEvent = log_event) -> SignIn:
    """Second factors and passkeys (named after PROGRAM_NAME in apps), with `record_event`."""
    return SignIn(
        record_event=record_event,
        factors=SecondFactors(record_event, issuer=settings.program_name),
        passkeys=Passkeys(settings.public_base_url, settings.program_name, record_event),
    )
