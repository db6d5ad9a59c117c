"""Twilio's inbound-text webhook, POST /webhooks/twilio/sms, as a plain WSGI application.

It is the one call a stadium sends by the ten thousand, and a returning customer's answer is
one indexed read: under load, Flask's request context, Werkzeug's form and header objects and
the after-request hooks cost more than the answer itself (bench/README.md has the profile).
So this route alone is answered here, with the same rules as every other webhook:

1. the body is at most 256 KiB (413), read once and parsed as Werkzeug would (UTF-8,
   blank values kept, every value of a repeated name);
2. Twilio's signature over PUBLIC_BASE_URL + path and the form, then the AccountSid (403
   with an empty body, logged without the number, exactly as `requires_twilio_signature`);
3. MessageSid and From are required (400);
4. the texts service answers; the TwiML goes out with the security headers every response of
   ours carries. A domain error gets its 4xx from handlers.errors; anything else is logged
   and answered 500, as the Flask apps' error handlers do. Every answer's status and time
   go to /metrics (`selfserve_webhook_responses_total`, `selfserve_webhook_seconds`).

Everything else under /webhooks/twilio (delivery statuses) goes on to the webhooks' Flask app.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from handlers.errors import answer_for
from handlers.security import security_header_list
from handlers.sms import twiml_document
from handlers.twilio_signature import signature_matches, signed_url_for
from selfserve.errors import SelfserveError
from selfserve.ops import metrics
from selfserve.services import Services
from selfserve.texts import InboundText

log = logging.getLogger(__name__)

PATH = "/sms"  # below the mount point, /webhooks/twilio
MAX_BODY = 256 * 1024
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Refused(Exception):
    """A request answered with a status and a plain-text body instead of TwiML."""

    def __init__(self, status: HTTPStatus | int, text: str = "") -> None:
        super().__init__(text)
        self.status = HTTPStatus(status)
        self.text = text


class InboundTexts:
    """WSGI: answers POST /sms (below /webhooks/twilio); passes anything else to `others`."""

    def __init__(self, services: Services, others: WSGIApp) -> None:
        self._services = services
        self.others = others  # the webhooks' Flask app
        settings = services.settings
        self._token = settings.webhook_auth_token
        self._account = settings.twilio_account_sid
        self._base_url = settings.public_base_url
        self._headers = security_header_list(settings.public_base_url.startswith("https:"))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != PATH:
            return self.others(environ, start_response)
        started = time.perf_counter()
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise Refused(HTTPStatus.METHOD_NOT_ALLOWED, "POST only")
            body, content_type = self._answer(environ)
            status = HTTPStatus.OK
        except Refused as refused:
            status, body, content_type = refused.status, refused.text, "text/plain"
        except SelfserveError as error:
            status, text = answer_for(error)
            body, content_type = text, "text/plain"
        except Exception:
            log.exception("unhandled_error", extra={"path": _path(environ)})
            status, content_type = HTTPStatus.INTERNAL_SERVER_ERROR, "text/plain"
            body = "Something went wrong on our side. Please try again."
        metrics.observe_webhook(status.value, time.perf_counter() - started)
        return self._respond(start_response, status, body, content_type)

    def _answer(self, environ: dict[str, Any]) -> tuple[str, str]:
        """The TwiML answering one signed inbound text."""
        form = self._signed_form(environ)
        token = environ.get("HTTP_I_TWILIO_IDEMPOTENCY_TOKEN")
        if token:
            log.debug("twilio_idempotency_token", extra={"token": token[:64]})
        reply = self._services.texts.answer(
            InboundText(
                message_sid=_required(form, "MessageSid")[:64],
                sender=_required(form, "From"),
                body=_first(form, "Body"),
                to=_first(form, "To"),
                opt_out_type=_first(form, "OptOutType"),
            )
        )
        metrics.count_answer(reply.outcome)
        return twiml_document(reply.text, reply.media_url), "text/xml"

    def _signed_form(self, environ: dict[str, Any]) -> dict[str, list[str]]:
        """The posted form, once Twilio's signature and our AccountSid are checked."""
        form = _read_form(environ)
        signature = environ.get("HTTP_X_TWILIO_SIGNATURE", "")
        url = signed_url_for(
            self._base_url, _path(environ), environ.get("QUERY_STRING", "").encode("latin-1")
        )
        if not signature or not signature_matches(self._token, signature, url, form):
            log.warning(
                "twilio_signature_rejected",
                extra={"path": _path(environ), "had_signature": bool(signature)},
            )
            raise Refused(HTTPStatus.FORBIDDEN)
        if self._account and _first(form, "AccountSid") != self._account:
            log.warning("twilio_account_mismatch", extra={"path": _path(environ)})
            raise Refused(HTTPStatus.FORBIDDEN)
        return form

    def _respond(
        self, start_response: Callable[..., Any], status: HTTPStatus, text: str, kind: str
    ) -> list[bytes]:
        payload = text.encode()
        headers = [
            ("Content-Type", f"{kind}; charset=utf-8"),
            ("Content-Length", str(len(payload))),
            *self._headers,
        ]
        start_response(f"{status.value} {status.phrase}", headers)
        return [payload]


def _read_form(environ: dict[str, Any]) -> dict[str, list[str]]:
    """The urlencoded body as every value of each name (Werkzeug's rules: UTF-8, blanks kept)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused(HTTPStatus.BAD_REQUEST, "bad Content-Length") from None
    if length > MAX_BODY:
        raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large")
    content_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    if content_type != "application/x-www-form-urlencoded":
        return {}
    form: dict[str, list[str]] = {}
    text = raw.decode("utf-8", "replace")
    for name, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        form.setdefault(name, []).append(value)
    return form


def _first(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0] if values else ""


def _required(form: dict[str, list[str]], name: str) -> str:
    """A field Twilio always sends; its absence is a 400, not a 500."""
    value = _first(form, name)
    if not value:
        raise Refused(HTTPStatus.BAD_REQUEST, f"missing {name}")
    return value


def _path(environ: dict[str, Any]) -> str:
    return environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
