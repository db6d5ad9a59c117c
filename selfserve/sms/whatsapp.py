"""WhatsApp delivery for the outbox: Meta's 24-hour window, Content templates, the way to SMS.

Within 24 hours of a person's last WhatsApp message we may write free-form; later only an
approved Content template (`ContentSid` + `ContentVariables`, no `Body`). We keep each
person's window (customers/whatsapp.py), but Twilio has the last word:

- free-form refused with 63016 (by the create call, or later by a status callback): sent
  again as the campaign's template when it has one;
- no template, or 63049 (marketing template to a US number), 63024/63003 (not a WhatsApp
  user): a code the customer asked for goes by SMS to the same number; anything else
  (marketing) is dropped and counted;
- 63014 (the person blocked us): no more WhatsApp to them; 63018 (rate limit): retried
  with backoff by the outbox; 21656/63028 (template and variables do not fit): a
  configuration error, failed and shown in the console.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.customers import (
    has_phone,
    is_opted_out,
    mask_phone,
    set_whatsapp_opt_out,
    whatsapp_address,
    whatsapp_window_open,
)
from selfserve.errors import SmsError
from selfserve.models import OutboundMessage
from selfserve.ops.metrics import WHATSAPP_OUTBOUND
from selfserve.sms.senders import SentMessage, SmsSender, Template

log = logging.getLogger(__name__)

FREE_FORM_REFUSED = 63016
BLOCKED = 63014
NOT_DELIVERABLE = frozenset({63049, 63024, 63003})  # US marketing block; not on WhatsApp
REFUSALS = frozenset({FREE_FORM_REFUSED}) | NOT_DELIVERABLE
# Texts that answer the customer's own request: worth an SMS when WhatsApp cannot take them.
ASKED_PURPOSES = frozenset({"deferred_code"})


def template_of(row: Any) -> Template | None:
    """The outbox row's Content template, if its campaign has one."""
    if not row.content_sid:
        return None
    return Template(row.content_sid, json.loads(row.content_variables or "{}"))


class WhatsAppDelivery:
    """Sends one claimed outbox row on WhatsApp: free-form, template, or SMS instead."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sender: SmsSender,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._sender = sender
        self._clock = clock

    def send(self, outbound_id: int, row: Any) -> SentMessage:
        """Send the row the way Meta allows now; raises SmsError as the SMS sender does."""
        with self._sessions() as db:
            address = whatsapp_address(db, row.to_e164)
            window_open = whatsapp_window_open(db, row.to_e164, self._clock())
        refused = FREE_FORM_REFUSED  # our own reading of the window, until Twilio says
        if window_open and not row.template_only:
            try:
                sent = self._sender.send(address, row.body, row.media_url, channel="whatsapp")
                return _counted("free_form", sent)
            except SmsError as error:
                refused = self._refusal(row.to_e164, error)
        template = template_of(row)
        if refused == FREE_FORM_REFUSED and template is not None:
            try:
                sent = self._sender.send(address, "", channel="whatsapp", template=template)
            except SmsError as error:
                refused = self._refusal(row.to_e164, error)
            else:
                self._set(outbound_id, template_only=True)
                return _counted("template", sent)
        return self._instead(outbound_id, row, refused)

    def _refusal(self, person: str, error: SmsError) -> int:
        """The refusal to act on here; anything else goes back to the outbox's rules."""
        if error.code == BLOCKED:
            with self._sessions.begin() as db:
                set_whatsapp_opt_out(db, person, True, "twilio-63014", self._clock())
        if error.code in REFUSALS:
            return int(error.code or 0)
        raise error

    def _instead(self, outbound_id: int, row: Any, refused: int) -> SentMessage:
        """WhatsApp cannot take it: an asked-for code goes by SMS, marketing is dropped."""
        if row.purpose in ASKED_PURPOSES and has_phone(row.to_e164):
            with self._sessions() as db:
                if is_opted_out(db, row.to_e164):
                    raise SmsError(
                        f"WhatsApp refused ({refused}) and SMS opted out", refused, permanent=True
                    )
            self._set(outbound_id, channel="sms", error_code=refused)  # shown in the console
            log.info("whatsapp_sent_by_sms", extra={"to": mask_phone(row.to_e164), "code": refused})
            return _counted("sms_fallback", self._sender.send(row.to_e164, row.body, row.media_url))
        WHATSAPP_OUTBOUND.labels("dropped").inc()
        log.info("whatsapp_dropped", extra={"purpose": row.purpose, "code": refused})
        raise SmsError(f"dropped: WhatsApp refused ({refused})", refused, permanent=True)

    def _set(self, outbound_id: int, **values: object) -> None:
        with self._sessions.begin() as db:
            db.execute(
                update(OutboundMessage).where(OutboundMessage.id == outbound_id).values(**values)
            )


def refused_later(
    db: Session, message_sid: str, error_code: int | None, now: datetime
) -> tuple[Row[Any], dict[str, object]] | None:
    """A status callback's refusal of a WhatsApp message we sent: the row and what to change
    before sending it again (the template, or SMS), or None when nothing is to be sent."""
    row = db.execute(
        select(
            OutboundMessage.id,
            OutboundMessage.attempts,
            OutboundMessage.channel,
            OutboundMessage.content_sid,
            OutboundMessage.template_only,
            OutboundMessage.purpose,
            OutboundMessage.to_e164,
        ).where(OutboundMessage.message_sid == message_sid)
    ).first()
    if row is None or row.channel != "whatsapp":
        return None
    if error_code == BLOCKED:
        set_whatsapp_opt_out(db, row.to_e164, True, "twilio-63014", now)
        return None
    if error_code not in REFUSALS:
        return None
    if error_code == FREE_FORM_REFUSED and row.content_sid and not row.template_only:
        return row, {"template_only": True}
    if row.purpose in ASKED_PURPOSES and has_phone(row.to_e164):
        return row, {"channel": "sms"}
    WHATSAPP_OUTBOUND.labels("dropped").inc()
    log.info("whatsapp_dropped", extra={"purpose": row.purpose, "code": error_code})
    return None


def _counted(result: str, sent: SentMessage) -> SentMessage:
    WHATSAPP_OUTBOUND.labels(result).inc()
    return sent
