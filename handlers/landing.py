"""QR landing pages: `/q/<slug>` → the number → a one-time code → the coupon on the page.

Thin: each view reads the form, makes one call to `LandingJourney`, and renders. The pending
verification lives in the server-signed session as a random token (never the number, and
nothing personal in a URL). Every POST carries the global CSRF token. Every page works
without JavaScript; scripts only add a copy button and Android's SMS code autofill.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from http import HTTPStatus
from typing import Any

import phonenumbers
from flask import Blueprint, Response, g, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from phonenumbers import geocoder

from handlers.errors import answer_for
from handlers.security import landing_policy, origin_of
from handlers.services import services
from handlers.web import client_address
from selfserve.errors import (
    CampaignClosed,
    InvalidPhoneNumber,
    NumberOptedOut,
    RegionNotAllowed,
    SelfserveError,
    SmsError,
    TooManyCodeRequests,
    UnknownCampaign,
    VerificationError,
    VerificationFailed,
    VerificationMissing,
)
from selfserve.landing import (
    LandingJourney,
    LandingPage,
    code_qr_svg,
    palette_for,
    sms_uri,
)
from selfserve.posters import PosterError, check_src
from selfserve.verification import VerifiedNumber

log = logging.getLogger(__name__)
bp = Blueprint("landing", __name__, url_prefix="/q")

SESSION_KEY = "landing"
APPLE_DEVICES = re.compile(r"iPhone|iPad|iPod|Macintosh", re.IGNORECASE)
PHONE_ECHO_LIMIT = 40
OFFERS_FIELD = "offers"  # the number form's "Send me offers by SMS" checkbox (value "yes")


def journey() -> LandingJourney:
    """The running app's landing journey."""
    return services().landing


def csp_nonce() -> str:
    """This response's CSP nonce for its one <style> and <script> blocks (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


@bp.after_request
def protect_page(response: Response) -> Response:
    """Pages with one-time codes and coupons: no caching, no framing, only our own scripts.

    The CSP (handlers/security.py) admits this response's nonce and, for images, only our own
    site and the campaign logo's site (its `logo_url` is the one thing a page loads from
    elsewhere). The app-wide hook adds nosniff, Referrer-Policy and HSTS.
    """
    response.headers["Content-Security-Policy"] = landing_policy(
        csp_nonce(), g.get("logo_origin", "")
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(CSRFError)
def csrf_refused(error: CSRFError) -> tuple[str, int]:
    """A form without a valid CSRF token: a friendly 400 and nothing done."""
    log.info("landing_csrf_refused", extra={"path": request.path[:80]})
    return render_template(
        "landing/message.html",
        page=None,
        brand_name=services().settings.program_name,
        palette=palette_for("", ""),
        nonce=csp_nonce(),
        heading="Please try that again",
        message=(
            "Your page had been open too long, or your browser blocked our cookie, so we "
            "couldn't accept that form. Nothing was sent."
        ),
        retry_url=_retry_url(),
    ), int(HTTPStatus.BAD_REQUEST)


# -- views ---------------------------------------------------------------------------------------


def for_campaign(view: Callable[[LandingPage], Any]) -> Callable[[str], Any]:
    """Resolve `<slug>` to the active campaign's page; unknown or ended → the friendly 404."""

    @wraps(view)
    def resolved(slug: str) -> Any:
        try:
            page = journey().page(slug)
        except (UnknownCampaign, CampaignClosed) as error:
            return _not_found(slug, error)
        return view(page)

    return resolved


@bp.get("/<slug>")
@for_campaign
def landing(page: LandingPage) -> Any:
    """The campaign's page: what the offer is, the number form and the `sms:` alternative."""
    src = _valid_src(request.args.get("src"))
    journey().record_visit(page.slug, src)
    _remember(page.slug, src=src or "")  # the latest scan names the poster
    return _number_form(page, src)


@bp.get("/<slug>/number")
@for_campaign
def number_form(page: LandingPage) -> Any:
    """The number form again ("use a different number"), without counting another visit."""
    return _number_form(page, _src_for(page.slug))


@bp.post("/<slug>")
@for_campaign
def send_code(page: LandingPage) -> Any:
    """Text a one-time code to the number typed, then ask for it."""
    src = _valid_src(request.form.get("src")) or _src_for(page.slug)
    typed = request.form.get("phone", "")
    wants_offers = request.form.get(OFFERS_FIELD) == "yes"
    try:
        sent = journey().request_code(page.slug, typed, src, client_address(), wants_offers)
    except (
        InvalidPhoneNumber,
        RegionNotAllowed,
        NumberOptedOut,
        TooManyCodeRequests,
        SmsError,
    ) as error:
        return _number_form(page, src, error=error, typed=typed, offers_ticked=wants_offers)
    _remember(page.slug, src=src, token=sent.token, masked_phone=sent.masked_phone)
    return _code_form(page, sent.masked_phone, status=HTTPStatus.OK, notice="sent")


@bp.get("/<slug>/verify")
@for_campaign
def code_form(page: LandingPage) -> Any:
    """The code form for the code already sent (after a reload)."""
    state = _state(page.slug)
    if not state.get("token"):
        return _number_form(page, _src_for(page.slug))
    return _code_form(page, state.get("masked_phone", ""), status=HTTPStatus.OK)


@bp.post("/<slug>/verify")
@for_campaign
def check_code(page: LandingPage) -> Any:
    """Check the typed code; the right one shows the coupon."""
    state = _state(page.slug)
    token = state.get("token", "")
    if not token:
        return _number_form(page, _src_for(page.slug), error=VerificationMissing())
    already = journey().verified(page.slug, token)
    if already is not None:  # a re-submitted form after success: show the code again
        return _result(page, already, record=False)
    try:
        verified = journey().verify(page.slug, token, request.form.get("code", ""))
    except VerificationMissing as error:
        return _number_form(page, _src_for(page.slug), error=error)
    except VerificationError as error:
        # Wrong, expired or locked: the code form stays (a dead code keeps being refused)
        # with "send me a new code" first when the code can no longer work.
        return _code_form(
            page,
            state.get("masked_phone", ""),
            error=error,
            dead_code=not isinstance(error, VerificationFailed),
        )
    return _result(page, verified, record=True)


@bp.post("/<slug>/resend")
@for_campaign
def resend_code(page: LandingPage) -> Any:
    """Send a new code to the number the last one went to."""
    state = _state(page.slug)
    try:
        sent = journey().resend_code(page.slug, state.get("token", ""), client_address())
    except VerificationMissing as error:
        return _number_form(page, _src_for(page.slug), error=error)
    except (
        InvalidPhoneNumber,
        RegionNotAllowed,
        NumberOptedOut,
        TooManyCodeRequests,
        SmsError,
    ) as error:
        return _code_form(page, state.get("masked_phone", ""), error=error)
    _remember(page.slug, token=sent.token, masked_phone=sent.masked_phone)
    return _code_form(page, sent.masked_phone, status=HTTPStatus.OK, notice="resent")


@bp.get("/<slug>/coupon")
@for_campaign
def coupon(page: LandingPage) -> Any:
    """The coupon again, for the visitor whose number was proved in this browser."""
    verified = journey().verified(page.slug, _state(page.slug).get("token", ""))
    if verified is None:
        return _number_form(page, _src_for(page.slug))
    return _result(page, verified, record=False)


# -- rendering -----------------------------------------------------------------------------------


def _number_form(
    page: LandingPage,
    src: str | None,
    error: SelfserveError | None = None,
    typed: str = "",
    offers_ticked: bool = False,
) -> tuple[str, int, dict[str, str]]:
    status, message = _problem(page, error)
    headers = _retry_after(error)
    state = _state(page.slug)
    has_coupon = bool(state.get("token")) and (
        journey().verified(page.slug, state["token"]) is not None
    )
    return (
        render_template(
            "landing/landing.html",
            **_common(page),
            src=src or "",
            error=message,
            typed=typed[:PHONE_ECHO_LIMIT],
            example_number=_example_mobile(),
            has_coupon=has_coupon,
            offers_field=OFFERS_FIELD,
            offers_ticked=offers_ticked,
            consent=journey().consent_wording,
        ),
        status,
        headers,
    )


def _code_form(
    page: LandingPage,
    masked_phone: str,
    error: SelfserveError | None = None,
    status: HTTPStatus | None = None,
    notice: str = "",
    dead_code: bool = False,
) -> tuple[str, int, dict[str, str]]:
    problem_status, message = _problem(page, error)
    return (
        render_template(
            "landing/verify.html",
            **_common(page),
            masked_phone=masked_phone,
            error=message,
            notice=notice,
            dead_code=dead_code,
            lifetime_minutes=int(journey().codes.lifetime.total_seconds() // 60),
        ),
        int(status) if status is not None and error is None else problem_status,
        _retry_after(error),
    )


ENTRY_HEADINGS = {
    "competition_entered": "You're in!",
    "competition_already_entered": "You're already in",
    "competition_not_open": "Not open yet",
    "competition_closed": "This competition has closed",
}


def _result(page: LandingPage, verified: VerifiedNumber, record: bool) -> tuple[str, int]:
    claim = journey().claim(verified, record=record)
    if claim.outcome == "coupon":
        return render_template(
            "landing/coupon.html",
            **_common(page),
            claim=claim,
            expiry=_date(claim.expires_at),
            qr_svg=Markup(code_qr_svg(claim.code)),  # noqa: S704 - our own generated SVG
        ), int(HTTPStatus.OK)
    if claim.outcome == "loyalty":
        return render_template("landing/loyalty.html", **_common(page), claim=claim), int(
            HTTPStatus.OK
        )
    if claim.outcome == "entry":  # a competition: the campaign's own reply says it all
        return render_template(
            "landing/message.html",
            **_common(page),
            heading=ENTRY_HEADINGS.get(claim.entry, page.name),
            message=claim.message,
        ), int(HTTPStatus.OK)
    if claim.outcome == "closed":
        return _not_found(page.slug, CampaignClosed(page.slug))
    if claim.outcome == "deferred":
        return render_template(
            "landing/message.html",
            **_common(page),
            heading="You're in!",
            message=claim.message,
            retry_url=url_for("landing.coupon", slug=page.slug),
            retry_label="Check for my code",
        ), int(HTTPStatus.ACCEPTED)
    return render_template(
        "landing/message.html",
        **_common(page),
        heading="We can't get your code right now",
        message=(
            "Your number is confirmed, but our offers system isn't answering. "
            "Please try again in a few minutes."
            if claim.outcome == "unavailable"
            else "Something isn't set up right on our side. Please ask a member of staff."
        ),
        retry_url=url_for("landing.coupon", slug=page.slug)
        if claim.outcome == "unavailable"
        else "",
    ), int(HTTPStatus.SERVICE_UNAVAILABLE)


def _not_found(slug: str, error: SelfserveError) -> tuple[str, int]:
    closed = isinstance(error, CampaignClosed)
    campaign = services().campaigns.by_slug(slug) if closed else None
    return render_template(
        "landing/message.html",
        page=None,
        brand_name=services().settings.program_name,
        palette=palette_for(
            str(campaign.option("brand_colour", "") or "") if campaign else "",
            str(campaign.option("accent_colour", "") or "") if campaign else "",
        ),
        nonce=csp_nonce(),
        heading=f"{campaign.name} has ended" if campaign else "We can't find that offer",
        message=(
            "Sorry, this offer has ended. Keep an eye out for our next one!"
            if closed
            else "The link or QR code you used doesn't match any of our offers. "
            "Please check the poster and try again."
        ),
        retry_url="",
    ), int(HTTPStatus.NOT_FOUND)


def _common(page: LandingPage) -> dict[str, Any]:
    ios = bool(APPLE_DEVICES.search(request.headers.get("User-Agent", "")))
    sms_href = sms_uri(page.sms_number, page.keyword, ios) if page.sms_number else ""
    g.logo_origin = origin_of(page.logo_url)  # the CSP admits the logo's site, and no other
    base_url = services().settings.public_base_url.rstrip("/")
    return {
        "page": page,
        "brand_name": services().settings.program_name,
        # What a search result or a shared link shows: the campaign's name and its offer.
        "description": f"{page.name}: {page.offer}" if page.offer else _default_description(page),
        "canonical_url": base_url + url_for("landing.landing", slug=page.slug),
        "og_image": page.logo_url if origin_of(page.logo_url) else "",
        "indexable": request.endpoint == "landing.landing" and request.method == "GET",
        "palette": page.palette,
        "nonce": csp_nonce(),
        "sms_href": sms_href,
    }


def _default_description(page: LandingPage) -> str:
    """The meta description of a campaign without an `offer`."""
    if page.action == "loyalty":
        return f"{page.name}: see your points balance with your mobile number."
    if page.action == "competition":
        return f"{page.name}: enter the draw with your mobile number."
    return f"{page.name}: get your code with your mobile number."


def _problem(page: LandingPage, error: SelfserveError | None) -> tuple[int, str]:
    if error is None:
        return int(HTTPStatus.OK), ""
    status, message = answer_for(error)
    details = {
        "sms_number": page.sms_number_display or "our number",
        "attempts_left": getattr(error, "attempts_left", ""),
        "tries": "try" if getattr(error, "attempts_left", 0) == 1 else "tries",
        "regions": _region_names(journey().allowed_regions),
        "wait": _wait(getattr(error, "retry_after_seconds", 60)),
        "keyword": page.keyword,
    }
    log.info(
        "landing_refused",
        extra={"campaign": page.slug, "reason": type(error).__name__, "status": int(status)},
    )
    return int(status), message.format_map(details)


def _retry_after(error: SelfserveError | None) -> dict[str, str]:
    seconds = getattr(error, "retry_after_seconds", None)
    return {"Retry-After": str(int(seconds))} if seconds else {}


# -- session and query helpers -------------------------------------------------------------------


def _state(slug: str) -> dict[str, str]:
    states = session.get(SESSION_KEY)
    if not isinstance(states, dict):
        return {}
    state = states.get(slug)
    return state if isinstance(state, dict) else {}


def _remember(slug: str, **values: str | None) -> None:
    states = session.get(SESSION_KEY)
    states = dict(states) if isinstance(states, dict) else {}
    state = dict(_state(slug))
    state.update({k: v for k, v in values.items() if v is not None})
    states[slug] = state
    session[SESSION_KEY] = states


def _src_for(slug: str) -> str | None:
    return _valid_src(_state(slug).get("src"))


def _valid_src(src: str | None) -> str | None:
    """The poster location, when it is a well-formed token; anything else is ignored."""
    if not src:
        return None
    try:
        check_src(src)
    except PosterError:
        return None
    return src


def _retry_url() -> str:
    match = re.match(r"^/q/([a-z0-9][a-z0-9-]{0,63})(?:/|$)", request.path)
    return url_for("landing.landing", slug=match.group(1)) if match else ""


def _example_mobile() -> str:
    region = services().settings.default_region.upper()
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return ""
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)


def _region_names(regions: frozenset[str]) -> str:
    names = []
    for region in sorted(regions):
        example = phonenumbers.example_number(region)
        name = geocoder.country_name_for_number(example, "en") if example else ""
        names.append(name or region)
    return " or ".join(names)


def _wait(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    if seconds < 90:
        return "a minute"
    if minutes < 90:
        return f"{minutes} minutes"
    return f"{round(minutes / 60)} hours"


def _date(value: datetime | None) -> str:
    return f"{value:%d %B %Y}".lstrip("0") if value else ""
