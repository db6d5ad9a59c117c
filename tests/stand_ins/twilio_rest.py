"""A stand-in for Twilio's Messages resource (/2010-04-01/Accounts/{sid}/Messages.json).

POST: checks Basic auth and the form, answers 201 with Twilio's message JSON, mirrors
Twilio's magic test numbers, records every request, and can be scripted to fail.
GET: the Messages list as Twilio pages it: `To`, `From`, `DateSent>` (on or after a
YYYY-MM-DD day), `PageSize` (default 50), newest first, `next_page_uri` naming the next page
(with `Page` and a `PageToken`) and null on the last. Inbound messages the webhook never saw
are added with `received(...)`; the ones the app sent are listed as `outbound-api`.
It speaks WhatsApp too (`whatsapp:` To and From, tests/stand_ins/whatsapp.py): Meta's
24-hour window, Content templates and their variables, the US marketing block.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

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
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))

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
        self.inbound: list[dict[str, Any]] = []
        self.list_requests: list[dict[str, str]] = []
        self.whatsapp = WhatsAppRules()  # windows, templates, the US marketing block
        self._scripted: deque[tuple[int, int | None, float]] = deque()
        self._lock = threading.Lock()

    def fail_next(self, status: int, code: int | None = None, delay_seconds: float = 0.0) -> None:
        """Answer the next create with this HTTP status and Twilio error code."""
        self._scripted.append((status, code, delay_seconds))

    def received(
        self, sender: str, body: str, sent_at: datetime, to: str = FROM_NUMBER, sid: str = ""
    ) -> str:
        """Record an inbound message (as if Twilio had received it); its MessageSid."""
        sid = sid or "SM" + secrets.token_hex(16)
        with self._lock:
            self.inbound.append(
                {"sid": sid, "from": sender, "to": to, "body": body, "sent_at": sent_at}
            )
        return sid

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
        if request.path == expected_path and request.method == "GET":
            return self._list(request)
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

    def _list(self, request: Request) -> Response:
        """One page of the Messages list, newest first."""
        args = request.args.to_dict()
        with self._lock:
            self.list_requests.append(args)
            everything = [_listed(m, "inbound") for m in self.inbound] + [
                _listed(vars(m) | {"from": m.sender}, "outbound-api") for m in self.messages
            ]
        day = args.get("DateSent>")
        chosen = [
            m
            for m in everything
            if (not args.get("To") or m["to"] == args["To"])
            and (not args.get("From") or m["from"] == args["From"])
            and (not day or m["_at"].strftime("%Y-%m-%d") >= day)
        ]
        chosen.sort(key=lambda m: m["_at"], reverse=True)
        size, page = int(args.get("PageSize", 50)), int(args.get("Page", 0))
        shown = chosen[page * size : (page + 1) * size]
        base = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        query = {k: v for k, v in args.items() if k not in ("Page", "PageToken")}

        def uri(number: int) -> str:
            token = {"PageToken": "PA" + secrets.token_hex(8)} if number else {}
            return base + "?" + urlencode({**query, "PageSize": size, "Page": number, **token})

        more = (page + 1) * size < len(chosen)
        body = {
            "messages": [{k: v for k, v in m.items() if k != "_at"} for m in shown],
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(len(shown) - 1, 0),
            "uri": uri(page),
            "first_page_uri": uri(0),
            "previous_page_uri": uri(page - 1) if page else None,
            "next_page_uri": uri(page + 1) if more else None,
        }
        return Response(json.dumps(body), mimetype="application/json")


def _listed(message: dict[str, Any], direction: str) -> dict[str, Any]:
    """A message as the list shows it (Twilio's fields; `_at` only for sorting here)."""
    at: datetime = message["sent_at"]
    stamp = formatdate(at.timestamp(), usegmt=True)
    return {
        "sid": message["sid"],
        "account_sid": ACCOUNT_SID,
        "from": message["from"],
        "to": message["to"],
        "body": message["body"],
        "direction": direction,
        "status": "received" if direction == "inbound" else "sent",
        "num_segments": "1",
        "num_media": "0",
        "date_created": stamp,
        "date_sent": stamp,
        "date_updated": stamp,
        "api_version": "2010-04-01",
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message['sid']}.json",
        "_at": at,
    }


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
