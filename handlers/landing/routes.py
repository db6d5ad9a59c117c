"""The landing pages' blueprint: its views, security headers and CSRF refusal page."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response, g, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from handlers.landing.pages import (
    CHALLENGE_FIELD,
    OFFERS_FIELD,
    csp_nonce,
    landing_flow,
    render_code_form,
    render_not_found,
    render_number_form,
    render_result,
    render_scan_again,
)
from handlers.landing.visitor_state import remember, src_for, state_of, valid_src
from handlers.security import landing_policy
from handlers.services import services
from handlers.web import client_address
from selfserve.errors import (
    CampaignClosed,
    ChallengeFailed,
    InvalidPhoneNumber,
    NumberOptedOut,
    RegionNotAllowed,
    ScreenScanNeeded,
    SmsError,
    TooManyCodeRequests,
    UnknownCampaign,
    VerificationError,
    VerificationFailed,
    VerificationMissing,
)
from selfserve.landing import LandingPage, VerifiedNumber, palette_for

log = logging.getLogger(__name__)
# A visitor who scanned a screen's fresh QR keeps the way in this long (the OTP steps).
SCAN_KEEPS_SECONDS = 30 * 60
bp = Blueprint("landing", __name__, url_prefix="/q")
# Why a one-time code was not sent: the visitor is told on the form (never a 500).
SENDING_REFUSED = (
    ChallengeFailed,
    InvalidPhoneNumber,
    RegionNotAllowed,
    NumberOptedOut,
    TooManyCodeRequests,
    SmsError,
)


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


def _retry_url() -> str:
    match = re.match(r"^/q/([a-z0-9][a-z0-9-]{0,63})(?:/|$)", request.path)
    return url_for("landing.landing", slug=match.group(1)) if match else ""


# -- views ---------------------------------------------------------------------------------------


def for_campaign(view: Callable[[LandingPage], Any]) -> Callable[[str], Any]:
    """Resolve `<slug>` to the active campaign's page; unknown or ended → the friendly 404."""

    @wraps(view)
    def resolved(slug: str) -> Any:
        try:
            page = landing_flow().page(slug)
        except (UnknownCampaign, CampaignClosed) as error:
            return render_not_found(slug, error)
        return view(page)

    return resolved


def scanned_here(view: Callable[[LandingPage], Any]) -> Callable[[LandingPage], Any]:
    """Screen-only campaigns (fresh_scan_seconds): only for a browser that scanned lately."""

    @wraps(view)
    def checked(page: LandingPage) -> Any:
        if scan_gone_stale(page):
            return render_scan_again(page)
        return view(page)

    return checked


def scan_gone_stale(page: LandingPage) -> bool:
    """A screen-only campaign's step (a form post) from a browser that did not scan lately."""
    if not page.fresh_scan_seconds:
        return False
    scanned_at = state_of(page.slug).get("scanned_at", "")
    return not scanned_at.isdigit() or time.time() - int(scanned_at) > SCAN_KEEPS_SECONDS


def scan_refused(page: LandingPage) -> bool:
    """Opening a screen-only campaign's page: True without a fresh token from the screen's
    QR (`?t=`); with one, the browser keeps the way in for the one-time-code steps."""
    if not page.fresh_scan_seconds:
        return False
    token = request.args.get("t", "")
    try:
        landing_flow().guards.check_scan(page.slug, page.fresh_scan_seconds, token)
    except ScreenScanNeeded:
        return True
    remember(page.slug, scanned_at=str(int(time.time())))
    return False


@bp.get("/<slug>")
@for_campaign
def landing(page: LandingPage) -> Any:
    """The campaign's page: what the offer is, the number form and the `sms:` alternative.

    A screen-only campaign's page opens only with a fresh token from the screen's QR code.
    """
    if scan_refused(page):
        return render_scan_again(page)
    src = valid_src(request.args.get("src"))
    landing_flow().record_visit(page.slug, src)
    remember(page.slug, src=src or "")  # the latest scan names the poster
    return render_number_form(page, src)


@bp.get("/<slug>/challenge")
@for_campaign
def challenge(page: LandingPage) -> Any:
    """A fresh bot challenge as JSON (ALTCHA's `challengeurl`); 404 when the challenge is off."""
    fresh = landing_flow().guards.new_challenge()
    if not fresh:
        return render_not_found(page.slug, UnknownCampaign(page.slug))
    return Response(fresh, mimetype="application/json")


@bp.get("/<slug>/number")
@for_campaign
@scanned_here
def number_form(page: LandingPage) -> Any:
    """The number form again ("use a different number"), without counting another visit."""
    return render_number_form(page, src_for(page.slug))


@bp.post("/<slug>")
@for_campaign
@scanned_here
def send_code(page: LandingPage) -> Any:
    """Text a one-time code to the number typed, then ask for it."""
    src = valid_src(request.form.get("src")) or src_for(page.slug)
    typed = request.form.get("phone", "")
    wants_offers = request.form.get(OFFERS_FIELD) == "yes"
    solution = request.form.get(CHALLENGE_FIELD, "")
    try:
        sent = landing_flow().request_code(
            page.slug, typed, src, client_address(), wants_offers, challenge_solution=solution
        )
    except SENDING_REFUSED as error:
        return render_number_form(page, src, error=error, typed=typed, offers_ticked=wants_offers)
    remember(page.slug, src=src, token=sent.token, masked_phone=sent.masked_phone)
    return render_code_form(page, sent.masked_phone, status=HTTPStatus.OK, notice="sent")


@bp.get("/<slug>/verify")
@for_campaign
def code_form(page: LandingPage) -> Any:
    """The code form for the code already sent (after a reload)."""
    state = state_of(page.slug)
    if not state.get("token"):
        return render_number_form(page, src_for(page.slug))
    return render_code_form(page, state.get("masked_phone", ""), status=HTTPStatus.OK)


@bp.post("/<slug>/verify")
@for_campaign
def check_code(page: LandingPage) -> Any:
    """Check the typed code; the right one shows the coupon."""
    proved = proved_number(page, src_for(page.slug))
    if not isinstance(proved, VerifiedNumber):
        return proved
    return render_result(page, proved, record=True)


def proved_number(
    page: LandingPage,
    src: str | None,
    again: Callable[[VerifiedNumber], Any] | None = None,
) -> VerifiedNumber | Any:
    """The visitor's number once the typed code is right; else the page to show instead: the
    number form (no code asked for yet), the result again (a form re-submitted after success:
    `again(number)`, by default this campaign's plain claim, unrecorded), or the code form with
    why the code was refused."""
    state = state_of(page.slug)
    token = state.get("token", "")
    if not token:
        return render_number_form(page, src, error=VerificationMissing())
    already = landing_flow().verified(page.slug, token)
    if already is not None:  # a re-submitted form after success: show the result again
        return again(already) if again else render_result(page, already, record=False)
    try:
        return landing_flow().verify(page.slug, token, request.form.get("code", ""))
    except VerificationMissing as error:
        return render_number_form(page, src, error=error)
    except VerificationError as error:
        # Wrong, expired or locked: the code form stays (a dead code keeps being refused)
        # with "send me a new code" first when the code can no longer work.
        return render_code_form(
            page,
            state.get("masked_phone", ""),
            error=error,
            dead_code=not isinstance(error, VerificationFailed),
        )


@bp.post("/<slug>/resend")
@for_campaign
@scanned_here
def resend_code(page: LandingPage) -> Any:
    """Send a new code to the number the last one went to."""
    state = state_of(page.slug)
    try:
        sent = landing_flow().resend_code(page.slug, state.get("token", ""), client_address())
    except VerificationMissing as error:
        return render_number_form(page, src_for(page.slug), error=error)
    except SENDING_REFUSED as error:
        return render_code_form(page, state.get("masked_phone", ""), error=error)
    remember(page.slug, token=sent.token, masked_phone=sent.masked_phone)
    return render_code_form(page, sent.masked_phone, status=HTTPStatus.OK, notice="resent")


@bp.get("/<slug>/coupon")
@for_campaign
def coupon(page: LandingPage) -> Any:
    """The coupon again, for the visitor whose number was proved in this browser."""
    verified = landing_flow().verified(page.slug, state_of(page.slug).get("token", ""))
    if verified is None:
        return render_number_form(page, src_for(page.slug))
    return render_result(page, verified, record=False)
