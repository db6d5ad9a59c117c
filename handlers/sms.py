"""Twilio's delivery status callbacks, and the TwiML every webhook answers with.

Inbound texts (POST /webhooks/twilio/sms) are answered by handlers/inbound_texts.py.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from flask import Blueprint, Response, abort, request
from twilio.twiml.messaging_response import MessagingResponse

from handlers.security import add_security_headers
from handlers.services import services
from handlers.twilio_signature import requires_twilio_signature
from selfserve.ops import metrics

log = logging.getLogger(__name__)
# Mounted by app.create_app as an app of its own (no session, CSRF or throttle hooks).
MOUNT_POINT = "/webhooks/twilio"
bp = Blueprint("sms", __name__)


@bp.after_app_request
def security_headers(response: Response) -> Response:
    """nosniff, Referrer-Policy, CSP (and HSTS) on the webhook app's answers too."""
    return add_security_headers(response, services().settings.public_base_url.startswith("https:"))


def twiml(text: str | None, media_url: str = "") -> Response:
    """A TwiML answer: one <Message> (with a <Media> picture for MMS), or an empty <Response/>."""
    return Response(twiml_document(text, media_url), status=200, mimetype="text/xml")


@lru_cache(maxsize=8192)
def twiml_document(text: str | None, media_url: str = "") -> str:
    """The TwiML text for a reply (cached: help texts, hints and a customer's code repeat)."""
    answer = MessagingResponse()
    if text:
        message = answer.message(text)
        if media_url:
            message.media(media_url)
    return str(answer)


def required_field(name: str) -> str:
    """A form field Twilio always sends; its absence is a 400, not a 500."""
    value = request.form.get(name, "")
    if not value:
        abort(Response(f"missing {name}", status=400, mimetype="text/plain"))
    return value


@bp.post("/status")
@requires_twilio_signature
def delivery_status() -> Response:
    """Record a delivery status callback for a text we sent."""
    error_code = request.form.get("ErrorCode", "")
    metrics.count_delivery_status(required_field("MessageStatus"))
    services().record_delivery_status(
        message_sid=required_field("MessageSid")[:64],
        status=required_field("MessageStatus")[:32],
        error_code=int(error_code) if error_code.isdigit() else None,
    )
    return twiml(None)
