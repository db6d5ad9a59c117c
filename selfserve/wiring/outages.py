"""What keeps texts answered through an outage: the spool, its drainer, late answers."""

from __future__ import annotations

from dataclasses import dataclass

from selfserve.ops import Catalogues, Spool, database_answers
from selfserve.sms import ComplianceWords, Outbox, TwilioInbox
from selfserve.texts import (
    DatabaseGate,
    LateAnswers,
    Reconciler,
    SpoolDrainer,
    SpooledReply,
    SpoolingAnswerer,
    TextAnswerer,
)
from selfserve.wiring.core import Core

# The webhook's answer may include Talon.One's inline call; past DATABASE_TIMEOUT_SECONDS and
# this margin the text is spooled (default 2.25 s: answered within 3 s).
DEADLINE_MARGIN_SECONDS = 0.25


@dataclass(frozen=True)
class Outages:
    """The webhook's spooling answer, the late answers (drainer, reconcile), the drainer."""

    spool: Spool
    inbound: SpoolingAnswerer
    late: LateAnswers
    drainer: SpoolDrainer
    reconciler: Reconciler | None  # None without Twilio credentials: nothing to list


def build_outages(
    core: Core, answerer: TextAnswerer, outbox: Outbox, compliance: ComplianceWords
) -> Outages:
    """The spool under INSTANCE_PATH, and what answers through it."""
    settings = core.settings
    spool = Spool(settings.spool_path)
    gate = DatabaseGate()
    reply = SpooledReply(
        settings.spooled_reply, core.campaigns, Catalogues(), settings.languages, compliance
    )
    late = LateAnswers(answerer, outbox, core.sessions, default_region=settings.default_region)
    timeout = settings.database_timeout_seconds
    return Outages(
        spool=spool,
        inbound=SpoolingAnswerer(
            answerer, spool, gate, reply, deadline_seconds=timeout + DEADLINE_MARGIN_SECONDS
        ),
        late=late,
        drainer=SpoolDrainer(spool, gate, late, database_answers(core.engine, timeout)),
        reconciler=None
        if settings.sms_sandbox
        else Reconciler(
            TwilioInbox(
                settings.twilio_account_sid,
                settings.twilio_auth_token,
                settings.twilio_api_base_url,
            ),
            late,
            core.sessions,
            our_numbers=[settings.twilio_from_number],
            max_age_minutes=settings.reconcile_max_age_minutes,
        ),
    )
