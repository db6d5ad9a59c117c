"""Twilio request signatures: every webhook is checked before anything else runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, abort, request
from twilio.request_validator import RequestValidator

from handlers.services import services

log = logging.getLogger(__name__)


def signed_url() -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path (+ raw query), never `request.url`.

    Behind a TLS proxy or tunnel `request.url` shows the internal scheme and host, and
    Werkzeug decodes some percent-escapes in it, so a correctly signed request would fail.
    """
    url = services().settings.public_base_url.rstrip("/") + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return url


def requires_twilio_signature(view: Callable[..., Any]) -> Callable[..., Any]:
    """403 with an empty body unless X-Twilio-Signature matches (and AccountSid, when set)."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        settings = services().settings
        signature = request.headers.get("X-Twilio-Signature", "")
        validator = RequestValidator(settings.webhook_auth_token)
        if not signature or not validator.validate(signed_url(), request.form, signature):
            log.warning(
                "twilio_signature_rejected",
                extra={"path": request.path, "had_signature": bool(signature)},
            )
            abort(Response("", status=403))
        account = request.form.get("AccountSid", "")
        if settings.twilio_account_sid and account != settings.twilio_account_sid:
            log.warning("twilio_account_mismatch", extra={"path": request.path})
            abort(Response("", status=403))
        return view(*args, **kwargs)

    return checked
