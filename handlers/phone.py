"""/dev/phone: a phone's messaging app in the browser, texting through the real webhook.

The page's form comes here (with its CSRF token); this builds the very form Twilio would post,
signs it with the webhook token exactly as Twilio does (twilio's RequestValidator over
PUBLIC_BASE_URL + "/webhooks/twilio/sms") and sends it through the app's own WSGI stack, so
handlers/sms.py checks and answers it like any Twilio request. Later texts come from the outbox.

Open while the SMS sandbox is on (no Twilio credentials) or to logged-in console editors and
owners (texting claims real codes: a viewer changes nothing, so gets the 403 that says so); a
404 for anyone else, so a production install does not advertise it.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import httpx
import phonenumbers
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from twilio.request_validator import RequestValidator

from handlers.admin.access import audit, is_allowed, refuse
from handlers.pages import private_page
from handlers.services import services
from selfserve.console import SentText, conversation
from selfserve.coupons import code_page_links
from selfserve.customers import national_format, to_e164
from selfserve.errors import InvalidPhoneNumber

log = logging.getLogger(__name__)
bp = Blueprint("phone", __name__, url_prefix="/dev")

WEBHOOK_PATH = "/webhooks/twilio/sms"
MAX_BODY = 1600  # Twilio's limit for one message
KEPT_TEXTS = 12  # the session cookie holds the last few texts (bodies shortened)
KEPT_BODY = 160
KEPT_REPLIES = 4  # the webhook's replies to the newest texts, until the message log has them
KEPT_REPLY = 480
CHANNELS = ("sms", "whatsapp")  # the simulator's switch: how the text reaches the webhook
INTERNAL_HOST = "http://selfserve.internal"  # any host: the signature covers PUBLIC_BASE_URL


@bp.before_request
def only_in_sandbox_or_for_console_editors() -> tuple[str, int] | None:
    """404 unless the SMS sandbox is on or a console user is logged in; 403 for a viewer."""
    if services().settings.sms_sandbox:
        return None
    if not current_user.is_authenticated:
        abort(404)
    if not is_allowed("editor"):
        return refuse("editor")
    return None


bp.after_request(private_page)


# Mobile numbers the Australian regulator (ACMA) keeps for fiction: safe to text even when
# Twilio is live. Elsewhere the region's example number from phonenumbers is used.
FICTIONAL_AU_MOBILES = (
    "+61491570006",
    "+61491570110",
    "+61491570313",
    "+61491570737",
    "+61491571266",
    "+61491571491",
    "+61491571804",
    "+61491572549",
)


def _default_number() -> str:
    """A number for a browser that has not chosen one: each browser is its own customer."""
    region = services().settings.default_region.upper()
    if region == "AU":
        return secrets.choice(FICTIONAL_AU_MOBILES)
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return secrets.choice(FICTIONAL_AU_MOBILES)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def _chosen_number(raw: str | None) -> tuple[str, str | None]:
    """The simulated number as E.164, or the last one used, with a problem to show if any."""
    fallback = session.get("phone_number") or _default_number()
    session.setdefault("phone_number", fallback)
    if not raw:
        return fallback, None
    try:
        return to_e164(raw, services().settings.default_region), None
    except InvalidPhoneNumber:
        return fallback, f"{raw.strip()[:40]!r} is not a mobile number we can text from."


def _chosen_channel(raw: str | None) -> str:
    """The simulator's SMS / WhatsApp switch: the one asked for, else the last one used."""
    if raw in CHANNELS:
        session["phone_channel"] = raw
        return raw
    return session.get("phone_channel") if session.get("phone_channel") in CHANNELS else "sms"


def _sent_texts(number: str) -> list[SentText]:
    return [
        SentText(sid, body, datetime.fromisoformat(at), *channel[:1])
        for owner, sid, body, at, *channel in session.get("phone_texts", [])
        if owner == number
    ]


def _outbox_since(number: str) -> datetime | None:
    """All of the sandbox outbox; with real Twilio, only what came after this browser texted."""
    if services().settings.sms_sandbox:
        return None
    started = session.get("phone_started", {}).get(number)
    return datetime.fromisoformat(started) if started else datetime.now(UTC)


def _answers() -> dict[str, str]:
    """The replies the webhook gave this browser's newest texts, by MessageSid.

    A returning customer's text is logged in a batch moments after it is answered; the
    thread shows the answer the webhook gave at once instead of waiting for the log.
    """
    return {sid: reply for sid, reply in session.get("phone_replies", [])}


def _thread_context(number: str) -> dict[str, Any]:
    with services().sessions() as db:
        bubbles = conversation(
            db, number, _sent_texts(number), _outbox_since(number), answered=_answers()
        )
    settings = services().settings
    return {
        "number": number,
        "number_display": national_format(number),
        "bubbles": bubbles,
        # A reply's {code_url} link is clickable; every other character is escaped as text.
        "pieces_of": lambda text: code_page_links(text, settings.public_base_url),
        "our_number": national_format(settings.twilio_from_number)
        if settings.twilio_from_number
        else "",
    }


@bp.get("/phone")
def phone_page() -> str:
    """The simulated phone for the chosen number."""
    number, problem = _chosen_number(request.args.get("number"))
    if problem:
        flash(problem, "error")
    settings = services().settings
    return render_template(
        "phone/phone.html",
        **_thread_context(number),
        channel=_chosen_channel(request.args.get("channel")),
        keywords=services().campaigns.active_keywords(),
        sms_sandbox=settings.sms_sandbox,
        talon_sandbox=settings.talon_sandbox,
        region=settings.default_region.upper(),
    )


@bp.get("/phone/thread")
def phone_thread() -> str:
    """Only the thread, for the page's script to refresh it."""
    number, _ = _chosen_number(request.args.get("number"))
    return render_template("phone/_thread.html", **_thread_context(number))


@bp.post("/phone")
def send_from_phone() -> Response | tuple[str, int]:
    """Text the body from the simulated number through the real, signed webhook."""
    wants_fragment = request.headers.get("X-Requested-With") == "selfserve-phone"
    number, problem = _chosen_number(request.form.get("number", ""))
    channel = _chosen_channel(request.form.get("channel"))
    body = request.form.get("body", "")[:MAX_BODY]
    if problem is None and not body.strip():
        problem = "Type a message first, for example one of the keywords."
    if problem is not None:
        if wants_fragment:
            return problem, 400
        flash(problem, "error")
        return redirect(url_for("phone.phone_page", number=request.form.get("number", "")))
    session["phone_number"] = number
    started = session.setdefault("phone_started", {})
    started.setdefault(number, datetime.now(UTC).isoformat())
    message_sid = "SM" + secrets.token_hex(16)
    texts = session.get("phone_texts", [])
    texts.append([number, message_sid, body[:KEPT_BODY], datetime.now(UTC).isoformat(), channel])
    session["phone_texts"] = texts[-KEPT_TEXTS:]
    session.modified = True  # `phone_started` changed inside; make sure the cookie is rewritten
    status, reply = _post_to_webhook(_twilio_form(number, body, message_sid, channel))
    if current_user.is_authenticated:  # a console user texting as a customer (number masked)
        audit("simulator_text", number, outcome="ok" if status == 200 else f"webhook {status}")
    if reply:
        replies = session.get("phone_replies", [])
        replies.append([message_sid, reply[:KEPT_REPLY]])
        session["phone_replies"] = replies[-KEPT_REPLIES:]
    if status != 200:
        problem = f"The webhook answered {status}; see the server log."
        if wants_fragment:
            return problem, 502
        flash(problem, "error")
    if wants_fragment:
        return render_template("phone/_thread.html", **_thread_context(number)), 200
    return redirect(url_for("phone.phone_page", number=number))


def _twilio_form(number: str, body: str, message_sid: str, channel: str) -> dict[str, str]:
    """The form Twilio posts for one inbound SMS (fields as its docs list them); on WhatsApp
    `From` and `To` carry `whatsapp:`, as Twilio's WhatsApp webhook does."""
    settings = services().settings
    region = phonenumbers.region_code_for_number(phonenumbers.parse(number)) or ""
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    ours = settings.twilio_whatsapp_from if prefix else ""
    return {
        "ToCountry": settings.default_region.upper(),
        "ToState": "",
        "SmsMessageSid": message_sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": message_sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": region,
        "To": prefix + (ours or settings.twilio_from_number),
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": message_sid,
        "AccountSid": settings.twilio_account_sid or "AC" + "0" * 32,
        "From": prefix + number,
        "ApiVersion": "2010-04-01",
    }


def _post_to_webhook(form: dict[str, str]) -> tuple[int, str | None]:
    """POST the signed form through this app's WSGI stack: the HTTP status, and the text of
    the TwiML <Message> it answered (None without one)."""
    settings = services().settings
    signed_url = settings.public_base_url.rstrip("/") + WEBHOOK_PATH
    signature = RequestValidator(settings.webhook_auth_token).compute_signature(signed_url, form)
    transport = httpx.WSGITransport(app=current_app._get_current_object())  # type: ignore[attr-defined]
    with httpx.Client(transport=transport, base_url=INTERNAL_HOST, timeout=30) as client:
        response = client.post(WEBHOOK_PATH, data=form, headers={"X-Twilio-Signature": signature})
    if response.status_code != 200:
        log.warning("phone_simulator_webhook_refused", extra={"status": response.status_code})
        return response.status_code, None
    return 200, _reply_of(response.content)


def _reply_of(content: bytes) -> str | None:
    """The <Message> of the webhook's TwiML; logs (does not fail) an answer that is not TwiML."""
    try:
        root = ElementTree.fromstring(content)  # noqa: S314 - our own app's TwiML answer
    except ElementTree.ParseError:
        log.warning("phone_simulator_bad_twiml")
        return None
    if root.tag != "Response":
        log.warning("phone_simulator_bad_twiml")
        return None
    message = root.find("Message")
    return message.text if message is not None else None
