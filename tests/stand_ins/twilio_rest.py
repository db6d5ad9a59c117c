"""A stand-in for Twilio's Messages resource (POST /2010-04-01/Accounts/{sid}/Messages.json).

Checks Basic auth and the form, answers 201 with Twilio's message JSON, mirrors Twilio's
magic test numbers, records every request, and can be scripted to fail. It speaks WhatsApp
too (`whatsapp:` To and From, tests/stand_ins/whatsapp.py): Meta's 24-hour window, Content
templates and their variables, the US marketing block.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.stand_ins.whatsapp import WhatsAppRules

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-test-token"
FROM_NUMBER = "+61480000000"

MAGIC_NUMBERS = {  # Twilio's test numbers and the error each gives
    "+15005550001": (400, 21211, "The 'To' number is not a valid phone number."),
    "+15005550003": (400, 21408, "Permission to send an SMS has not been enabled."),
    "+15005550004": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (400, 21614, "'To' number is not a valid mobile number"),
}


@dataclass
class SentSms:
    """One accepted message."""

    sid: str
    to: str
    body: str
    sender: str
    status_callback: str
    media_urls: list[str] = field(default_factory=list)  # MMS: every MediaUrl it carried
    content_sid: str = ""  # WhatsApp: the Content template sent instead of a Body
    content_variables: dict[str, str] = field(default_factory=dict)
    has_body: bool = True  # whether the request carried a Body at all

    @property
    def channel(self) -> str:
        """whatsapp when it went to a `whatsapp:` address, else sms."""
        return "whatsapp" if self.to.startswith("whatsapp:") else "sms"


class TwilioRestStandIn:
    """The WSGI app; `messages` lists what was accepted, `requests` everything received."""

    def __init__(self) -> None:
        self.messages: list[SentSms] = []
        self.requests: list[dict[str, str]] = []
        self.opted_out: set[str] = set()
        self.whatsapp = WhatsAppRules()  # windows, templates, the US marketing block
        self._scripted: deque[tuple[int, int | None, float]] = deque()
        self._lock = threading.Lock()

    def fail_next(self, status: int, code: int | None = None, delay_seconds: float = 0.0) -> None:
        """Answer the next create with this HTTP status and Twilio error code."""
        self._scripted.append((status, code, delay_seconds))

    def messages_to(self, number: str) -> list[SentSms]:
        """Messages accepted for one recipient."""
        return [m for m in self.messages if m.to == number]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._answer(Request(environ))(environ, start_response)

    def _answer(self, request: Request) -> Response:
        expected_path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        form = request.form.to_dict()
        media_urls = request.form.getlist("MediaUrl")
        with self._lock:
            self.requests.append(form)
            scripted = self._scripted.popleft() if self._scripted else None
        expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected_auth:
            return _error(401, 20003, "Authenticate")
        if request.path != expected_path or request.method != "POST":
            return _error(404, 20404, "The requested resource was not found")
        if scripted is not None:
            status, code, delay = scripted
            time.sleep(delay)
            return _error(status, code, "scripted failure")
        to = form.get("To", "")
        if not to or not (form.get("Body") or media_urls or form.get("ContentSid")):
            return _error(400, 21602, "Message body is required.")
        if bool(form.get("From")) == bool(form.get("MessagingServiceSid")):
            return _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        refusal = self.whatsapp.refusal(form)
        if refusal is not None:
            return _error(400, *refusal)
        if to in MAGIC_NUMBERS:
            status, code, message = MAGIC_NUMBERS[to]
            return _error(status, code, message)
        if to in self.opted_out:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = "SM" + secrets.token_hex(16)
        with self._lock:
            self.messages.append(
                SentSms(
                    sid,
                    to,
                    form.get("Body", ""),
                    form.get("From") or form.get("MessagingServiceSid", ""),
                    form.get("StatusCallback", ""),
                    media_urls,
                    form.get("ContentSid", ""),
                    json.loads(form.get("ContentVariables") or "{}"),
                    "Body" in form,
                )
            )
        return _created(sid, to, form, media_urls)


def _error(status: int, code: int | None, message: str) -> Response:
    return Response(
        json.dumps(
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            }
        ),
        status=status,
        mimetype="application/json",
    )


def _created(sid: str, to: str, form: dict[str, str], media_urls: list[str]) -> Response:
    """Twilio's 201 answer for an accepted message (queued, or accepted by a service)."""
    now = formatdate(usegmt=True)
    service = form.get("MessagingServiceSid")
    return Response(
        json.dumps(
            {
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "messaging_service_sid": service,
                "from": form.get("From"),
                "to": to,
                "body": form.get("Body", ""),
                "status": "accepted" if service else "queued",
                "direction": "outbound-api",
                "num_segments": "0" if service else "1",
                "num_media": str(len(media_urls)),
                "error_code": None,
                "error_message": None,
                "price": None,
                "price_unit": "USD",
                "api_version": "2010-04-01",
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"
                },
            }
        ),
        status=201,
        mimetype="application/json",
    )
