"""Outbound SMS: Twilio's Messages resource, or the sandbox outbox when Twilio is not set up.

Senders only talk to the provider. Every text we send ourselves (not TwiML replies) goes
through `selfserve.sms.outbox.Outbox`, which records it in `outbound_messages` first and sends it
at most once per dedupe key; in the sandbox that table *is* the outbox, which /dev/phone and
the console show.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import requests
from sqlalchemy import update
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from selfserve.customers import set_opt_out
from selfserve.errors import RecipientOptedOut, SmsError
from selfserve.models import OutboundMessage

log = logging.getLogger(__name__)

PERMANENT_CODES = {
    21211: "not a valid number",
    21408: "country not enabled",
    21606: "sender cannot send SMS",
    21614: "number cannot receive SMS",
    20003: "bad Twilio credentials",
    21656: "WhatsApp: ContentVariables not valid for the template",
    63028: "WhatsApp: the template's variables do not match its content",
}
# WhatsApp codes that are worth another go later (63018: the sender's rate limit).
RETRIED_CODES = frozenset({63018})


@dataclass(frozen=True)
class Template:
    """An approved WhatsApp Content template: its sid (HX…) and its variables' values."""

    content_sid: str
    variables: Mapping[str, str] = field(default_factory=dict)

    def variables_json(self) -> str:
        """ContentVariables as Twilio takes it: one JSON object, as a string."""
        return json.dumps(dict(self.variables), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class SentMessage:
    """What the provider said about a message it accepted."""

    sid: str
    status: str
    provider: str


class SmsSender(Protocol):
    """Sends one text; raises RecipientOptedOut or SmsError when it is not accepted."""

    provider: str

    def send(
        self,
        to_e164: str,
        body: str,
        media_url: str | None = None,
        *,
        channel: str = "sms",
        template: Template | None = None,
    ) -> SentMessage:
        """Send one message; on `channel="whatsapp"` `to_e164` is the WhatsApp address and
        a `template` goes instead of the body."""
        ...


class TwilioSender:
    """Creates Messages through twilio's REST client, against TWILIO_API_BASE_URL."""

    provider = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_base_url: str,
        from_number: str,
        messaging_service_sid: str,
        status_callback_url: str,
        timeout_seconds: float = 10.0,
        whatsapp_from: str = "",
    ) -> None:
        http = TwilioHttpClient(timeout=timeout_seconds)
        # twilio falls back to os.environ for an empty mapping, and TWILIO_REGION/TWILIO_EDGE
        # from there would mangle a non-Twilio base URL: hand it a mapping without them.
        self._client = Client(
            account_sid, auth_token, http_client=http, environment={"SELFSERVE": "1"}
        )
        self._client.api.base_url = api_base_url.rstrip("/")
        self._from = from_number
        self._service = messaging_service_sid
        self._status_callback = status_callback_url
        self._whatsapp_from = whatsapp_from

    def send(
        self,
        to_e164: str,
        body: str,
        media_url: str | None = None,
        *,
        channel: str = "sms",
        template: Template | None = None,
    ) -> SentMessage:
        """Create one Message (an MMS with `media_url`; on WhatsApp, from our WhatsApp sender,
        a Content template with no Body when `template` is given); Twilio's error codes
        become domain errors."""
        fields: dict[str, object]
        if channel == "whatsapp":
            fields = self._whatsapp_fields(to_e164, body, media_url, template)
        else:
            fields = {"to": to_e164, "body": body}
            fields.update(
                {"messaging_service_sid": self._service} if self._service else {"from_": self._from}
            )
            if media_url:
                fields["media_url"] = [media_url]
        try:
            message = self._client.messages.create(status_callback=self._status_callback, **fields)
        except TwilioRestException as error:
            if error.code == 21610:
                raise RecipientOptedOut() from None
            permanent = error.code in PERMANENT_CODES or error.status in (400, 401, 403, 404)
            if error.status == 429 or error.code in RETRIED_CODES:
                permanent = False
            raise SmsError(
                f"Twilio answered {error.status} code {error.code}", error.code, permanent=permanent
            ) from None
        except TwilioException as error:
            raise SmsError(
                f"Twilio client error ({type(error).__name__})", permanent=False
            ) from None
        except OSError as error:
            if never_reached_provider(error):
                raise SmsError(
                    f"Twilio unreachable ({type(error).__name__})", permanent=False
                ) from None
            # A read timeout or a dropped answer: Twilio may have created the message, and it
            # has no idempotency key, so sending again could text the customer twice.
            raise SmsError(
                f"Twilio's answer was lost ({type(error).__name__})",
                permanent=False,
                maybe_sent=True,
            ) from None
        return SentMessage(sid=str(message.sid), status=str(message.status), provider="twilio")

    def _whatsapp_fields(
        self, address: str, body: str, media_url: str | None, template: Template | None
    ) -> dict[str, object]:
        """`whatsapp:`-prefixed To and From (or the Messaging Service); a template replaces
        Body and media: Twilio fails template text sent as Body (63016)."""
        fields: dict[str, object] = {"to": f"whatsapp:{address}"}
        if self._whatsapp_from or not self._service:  # else the Messaging Service's sender
            fields["from_"] = f"whatsapp:{self._whatsapp_from or self._from}"
        else:
            fields["messaging_service_sid"] = self._service
        if template is not None:
            fields["content_sid"] = template.content_sid
            fields["content_variables"] = template.variables_json()
            return fields
        fields["body"] = body
        if media_url:
            fields["media_url"] = [media_url]
        return fields


def never_reached_provider(error: OSError) -> bool:
    """True when a transport error happened before the request could reach the provider.

    Refused connections, DNS failures and connect timeouts are safe to retry; anything after
    the request went out (a read timeout, a dropped answer) is not.
    """
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, requests.ConnectionError):
        reason = error.args[0] if error.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        return isinstance(reason, NewConnectionError | ConnectionRefusedError)
    return isinstance(error, ConnectionRefusedError)


class SandboxSender:
    """Keeps texts in the outbox instead of sending them: `make run` needs no Twilio account."""

    provider = "sandbox"

    def send(
        self,
        to_e164: str,
        body: str,
        media_url: str | None = None,
        *,
        channel: str = "sms",
        template: Template | None = None,
    ) -> SentMessage:
        """Accept the text at once; it is visible in the outbox (its picture's URL too)."""
        return SentMessage(sid="SM" + secrets.token_hex(16), status="sandboxed", provider="sandbox")


def record_status(
    db: Session,
    message_sid: str,
    status: str,
    error_code: int | None,
) -> bool:
    """Apply a delivery status callback; terminal statuses never move back. False if unknown.

    Callbacks can arrive out of order, so a message already delivered, undelivered, failed or
    canceled keeps that status. A 21610 failure means the customer opted out.
    """
    terminal = ("delivered", "undelivered", "failed", "canceled")
    result = db.execute(
        update(OutboundMessage)
        .where(OutboundMessage.message_sid == message_sid, OutboundMessage.status.not_in(terminal))
        .values(status=status, error_code=error_code)
        .returning(OutboundMessage.to_e164)
    )
    recipient = result.scalar()
    if recipient is not None and error_code == 21610:
        set_opt_out(db, recipient, True, reason="twilio-21610")
    return recipient is not None
