"""`/r/<code>`: a referral code's landing page, with the same one-time-code flow as /q/<slug>.

The visitor sees the friend campaign's page; the forms post here, so that once the number is
proved the friend gets the coupon through the referral (`ReferralPages.claim`). The pending
verification is kept under the friend campaign's slug, as on its own page. An unknown or
expired code gets the unknown-campaign page. Same headers and CSRF refusal as /q/.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any

from flask import Blueprint, g, request, url_for
from flask_wtf.csrf import CSRFError

from handlers.landing.pages import (
    CHALLENGE_FIELD,
    OFFERS_FIELD,
    landing_flow,
    render_claim,
    render_code_form,
    render_not_found,
    render_number_form,
    render_scan_again,
)
from handlers.landing.routes import (
    SENDING_REFUSED,
    csrf_refused,
    protect_page,
    proved_number,
    scan_gone_stale,
    scan_refused,
)
from handlers.landing.visitor_state import remember, state_of
from handlers.services import services
from handlers.web import client_address
from selfserve.errors import (
    CampaignClosed,
    UnknownCampaign,
    VerificationMissing,
)
from selfserve.landing import LandingPage, VerifiedNumber

bp = Blueprint("referral_landing", __name__, url_prefix="/r")
bp.after_request(protect_page)
bp.register_error_handler(CSRFError, csrf_refused)


def for_referral(view: Callable[[str, LandingPage], Any]) -> Callable[[str], Any]:
    """Resolve `<code>` to the friend campaign's page; unknown or expired → the friendly 404."""

    @wraps(view)
    def resolved(code: str) -> Any:
        try:
            page = services().referral_pages.page(code)
        except (UnknownCampaign, CampaignClosed):
            return render_not_found(code[:64], UnknownCampaign(code[:64]))
        g.form_urls = {
            "send_code": url_for("referral_landing.send_code", code=code),
            "check_code": url_for("referral_landing.check_code", code=code),
            "resend_code": url_for("referral_landing.resend_code", code=code),
            "number_form": url_for("referral_landing.landing", code=code),
        }
        return view(code, page)

    return resolved


@bp.get("/<code>")
@for_referral
def landing(code: str, page: LandingPage) -> Any:
    """The friend campaign's offer and the number form. A screen-only friend campaign
    (fresh_scan_seconds) opens only with a fresh token from its screen, as on /q/<slug>,
    or in a browser that scanned that screen lately (its steps would pass too)."""
    if scan_gone_stale(page) and scan_refused(page):
        return render_scan_again(page)
    return render_number_form(page, None)


@bp.post("/<code>")
@for_referral
def send_code(code: str, page: LandingPage) -> Any:
    """Text a one-time code to the number typed, then ask for it."""
    if scan_gone_stale(page):
        return render_scan_again(page)
    typed = request.form.get("phone", "")
    wants_offers = request.form.get(OFFERS_FIELD) == "yes"
    try:
        sent = landing_flow().request_code(
            page.slug,
            typed,
            None,
            client_address(),
            wants_offers,
            challenge_solution=request.form.get(CHALLENGE_FIELD, ""),
        )
    except SENDING_REFUSED as error:
        return render_number_form(page, None, error=error, typed=typed, offers_ticked=wants_offers)
    remember(page.slug, token=sent.token, masked_phone=sent.masked_phone)
    return render_code_form(page, sent.masked_phone, status=HTTPStatus.OK, notice="sent")


@bp.post("/<code>/verify")
@for_referral
def check_code(code: str, page: LandingPage) -> Any:
    """Check the typed code; the right one gets the friend's coupon through the referral.
    A form re-submitted after the number was proved goes through the referral too (never
    the friend campaign's plain claim): its refusals, its attribute, the advocate's thanks."""

    def referred(verified: VerifiedNumber) -> Any:
        claim = services().referral_pages.claim(code, verified)
        if claim.outcome == "closed":
            return render_not_found(code[:64], UnknownCampaign(code[:64]))
        return render_claim(page, claim)

    verified = proved_number(page, None, again=referred)
    if not isinstance(verified, VerifiedNumber):
        return verified
    return referred(verified)


@bp.post("/<code>/resend")
@for_referral
def resend_code(code: str, page: LandingPage) -> Any:
    """Send a new code to the number the last one went to."""
    if scan_gone_stale(page):
        return render_scan_again(page)
    state = state_of(page.slug)
    try:
        sent = landing_flow().resend_code(page.slug, state.get("token", ""), client_address())
    except VerificationMissing as error:
        return render_number_form(page, None, error=error)
    except SENDING_REFUSED as error:
        return render_code_form(page, state.get("masked_phone", ""), error=error)
    remember(page.slug, token=sent.token, masked_phone=sent.masked_phone)
    return render_code_form(page, sent.masked_phone, status=HTTPStatus.OK, notice="resent")
