"""Rendering the landing pages: the number form, the code form, the result and refusals."""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime
from http import HTTPStatus
from typing import Any

import phonenumbers
from babel import Locale, UnknownLocaleError
from flask import g, render_template, request, url_for
from markupsafe import Markup

from handlers.errors import answer_for
from handlers.landing.visitor_state import state_of
from handlers.page_words import page_gettext as _
from handlers.page_words import page_language, use_page_language
from handlers.security import origin_of
from handlers.services import services
from selfserve.errors import CampaignClosed, ScreenScanNeeded, SelfserveError
from selfserve.landing import (
    Claim,
    LandingFlow,
    LandingPage,
    VerifiedNumber,
    code_qr_svg,
    palette_for,
    sms_uri,
    whatsapp_uri,
)

log = logging.getLogger(__name__)

APPLE_DEVICES = re.compile(r"iPhone|iPad|iPod|Macintosh", re.IGNORECASE)
PHONE_ECHO_LIMIT = 40
CHALLENGE_FIELD = "altcha"  # the bot challenge's solution (static/altcha.js fills it in)
OFFERS_FIELD = "offers"  # the number form's "Send me offers by SMS" checkbox (value "yes")


def landing_flow() -> LandingFlow:
    """The running app's landing flow."""
    return services().landing


def csp_nonce() -> str:
    """This response's CSP nonce for its one <style> and <script> blocks (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


def render_number_form(
    page: LandingPage,
    src: str | None,
    error: SelfserveError | None = None,
    typed: str = "",
    offers_ticked: bool = False,
) -> tuple[str, int, dict[str, str]]:
    """The number form, with the problem `error` names (if any) and what was typed."""
    status, message = _problem(page, error)
    headers = _retry_after(error)
    state = state_of(page.slug)
    has_coupon = bool(state.get("token")) and (
        landing_flow().verified(page.slug, state["token"]) is not None
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
            consent=landing_flow().consent_wording,
            challenge=landing_flow().guards.new_challenge(),
            challenge_field=CHALLENGE_FIELD,
        ),
        status,
        headers,
    )


def render_code_form(
    page: LandingPage,
    masked_phone: str,
    error: SelfserveError | None = None,
    status: HTTPStatus | None = None,
    notice: str = "",
    dead_code: bool = False,
) -> tuple[str, int, dict[str, str]]:
    """The code form for the code sent to `masked_phone`, with any problem or notice."""
    problem_status, message = _problem(page, error)
    return (
        render_template(
            "landing/verify.html",
            **_common(page),
            masked_phone=masked_phone,
            error=message,
            notice=notice,
            dead_code=dead_code,
            lifetime_minutes=int(landing_flow().codes.lifetime.total_seconds() // 60),
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


def render_result(page: LandingPage, verified: VerifiedNumber, record: bool) -> tuple[str, int]:
    """What the proved number gets: the coupon, the balance, the entry, or why not yet."""
    return render_claim(page, landing_flow().claim(verified, record=record))


def render_claim(page: LandingPage, claim: Claim) -> tuple[str, int]:
    """A claim's page: the coupon, the balance, the entry, a refusal, or why not yet."""
    if claim.outcome == "refused":  # a referral this visitor may not use: the polite reason
        return render_template(
            "landing/message.html",
            **_common(page),
            heading="We can't use that code",
            message=claim.message,
            retry_url="",
        ), int(HTTPStatus.CONFLICT)
    if claim.outcome == "coupon":
        return render_template(
            "landing/coupon.html",
            **_common(page),
            **_till_view(claim),
            claim=claim,
            expiry=_date(claim.expires_at),
        ), int(HTTPStatus.OK)
    if claim.outcome == "loyalty":
        return render_template("landing/loyalty.html", **_common(page), claim=claim), int(
            HTTPStatus.OK
        )
    if claim.outcome == "entry":  # a competition: the campaign's own reply says it all
        return render_template(
            "landing/message.html",
            **_common(page),
            heading=_(ENTRY_HEADINGS[claim.entry]) if claim.entry in ENTRY_HEADINGS else page.name,
            message=claim.message,
        ), int(HTTPStatus.OK)
    if claim.outcome == "closed":
        return render_not_found(page.slug, CampaignClosed(page.slug))
    if claim.outcome == "deferred":
        return render_template(
            "landing/message.html",
            **_common(page),
            heading=_("You're in!"),
            message=claim.message,
            retry_url=url_for("landing.coupon", slug=page.slug),
            retry_label=_("Check for my code"),
        ), int(HTTPStatus.ACCEPTED)
    return _no_code_page(page, claim.outcome)


def _till_view(claim: Any) -> dict[str, Any]:
    """What the code page shows at the till: its barcode picture and the wallet buttons.

    A claim without a code page (none made yet) keeps the inline QR code of its code.
    """
    shown = services().code_page_flow.show(claim.code_token) if claim.code_token else None
    if shown is None or shown.owed:
        return {"shown": None, "qr_svg": Markup(code_qr_svg(claim.code))}  # noqa: S704 - ours
    return {
        "shown": shown,
        "barcode_url": url_for("code_pages.barcode", token=shown.token, image_format="svg"),
        "pass_url": url_for("code_pages.apple_pass", token=shown.token),
        "code_page_url": url_for("code_pages.code_page", token=shown.token),
    }


def _no_code_page(page: LandingPage, outcome: str) -> tuple[str, int]:
    """No code: over a per-person cap, Talon.One not answering, or set up wrong."""
    if outcome == "capped":
        return render_template(
            "landing/message.html",
            **_common(page),
            heading=_("That's all the new codes for today"),
            message=_(
                "Sorry, you've had all the new codes we can give one number today. "
                "Codes you already have still work. Please come back tomorrow."
            ),
            retry_url="",
        ), int(HTTPStatus.TOO_MANY_REQUESTS)
    return render_template(
        "landing/message.html",
        **_common(page),
        heading=_("We can't get your code right now"),
        message=_(
            "Your number is confirmed, but our offers system isn't answering. "
            "Please try again in a few minutes."
            if outcome == "unavailable"
            else "Something isn't set up right on our side. Please ask a member of staff."
        ),
        retry_url=url_for("landing.coupon", slug=page.slug) if outcome == "unavailable" else "",
    ), int(HTTPStatus.SERVICE_UNAVAILABLE)


def render_scan_again(page: LandingPage) -> tuple[str, int]:
    """A screen-only campaign opened without a fresh scan: no form, scan the screen again."""
    status, message = answer_for(ScreenScanNeeded(page.slug))
    log.info("landing_scan_refused", extra={"campaign": page.slug})
    return render_template(
        "landing/message.html",
        **{**_common(page), "sms_href": ""},
        heading=_("Scan the code on the screen again"),
        message=message,
        retry_url="",
    ), int(status)


def render_not_found(slug: str, error: SelfserveError) -> tuple[str, int]:
    """The friendly 404: an unknown campaign, or one that has ended."""
    closed = isinstance(error, CampaignClosed)
    campaign = services().campaigns.by_slug(slug) if closed else None
    use_page_language(landing_flow().words.language_of(campaign))
    return render_template(
        "landing/message.html",
        page=None,
        brand_name=services().settings.program_name,
        palette=palette_for(
            str(campaign.option("brand_colour", "") or "") if campaign else "",
            str(campaign.option("accent_colour", "") or "") if campaign else "",
        ),
        nonce=csp_nonce(),
        heading=_("{name} has ended").format(name=campaign.name)
        if campaign
        else _("We can't find that offer"),
        message=_(
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
    use_page_language(page.language)
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
        "whatsapp_href": _whatsapp_href(page),
        "urls": g.get("form_urls") or landing_urls(page.slug),
    }


def _whatsapp_href(page: LandingPage) -> str:
    """ "Get it on WhatsApp": a wa.me chat with the keyword typed, when WhatsApp is set up."""
    number = services().settings.whatsapp_link_number
    return whatsapp_uri(number, page.keyword) if number and page.keyword else ""


def landing_urls(slug: str) -> dict[str, str]:
    """Where the landing page's forms post: the campaign's own /q/<slug> routes."""
    return {
        "send_code": url_for("landing.send_code", slug=slug),
        "check_code": url_for("landing.check_code", slug=slug),
        "resend_code": url_for("landing.resend_code", slug=slug),
        "number_form": url_for("landing.number_form", slug=slug),
    }


def _default_description(page: LandingPage) -> str:
    """The meta description of a campaign without an `offer`."""
    if page.action == "loyalty":
        return _("{name}: see your points balance with your mobile number.").format(name=page.name)
    if page.action == "competition":
        return _("{name}: enter the draw with your mobile number.").format(name=page.name)
    return _("{name}: get your code with your mobile number.").format(name=page.name)


def _problem(page: LandingPage, error: SelfserveError | None) -> tuple[int, str]:
    use_page_language(page.language)  # the message is worded before _common runs
    if error is None:
        return int(HTTPStatus.OK), ""
    status, message = answer_for(error)
    details = {
        "sms_number": page.sms_number_display or _("our number"),
        "attempts_left": getattr(error, "attempts_left", ""),
        "tries": _("try") if getattr(error, "attempts_left", 0) == 1 else _("tries"),
        "regions": _region_names(landing_flow().allowed_regions),
        "wait": _wait(getattr(error, "retry_after_seconds", 60)),
        "keyword": page.keyword,
    }
    log.info(
        "landing_refused",
        extra={"campaign": page.slug, "reason": type(error).__name__, "status": int(status)},
    )
    return int(status), _(message).format_map(details)


def _retry_after(error: SelfserveError | None) -> dict[str, str]:
    seconds = getattr(error, "retry_after_seconds", None)
    return {"Retry-After": str(int(seconds))} if seconds else {}


def _example_mobile() -> str:
    region = services().settings.default_region.upper()
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return ""
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)


def _region_names(regions: frozenset[str]) -> str:
    """The regions' names in the page's language (Babel's CLDR data; phonenumbers' geocoder
    would load ~150 MB of place names into every worker for the same answer)."""
    try:
        territories = Locale.parse(page_language().replace("-", "_")).territories
    except (ValueError, TypeError, UnknownLocaleError):
        territories = {}
    return _(" or ").join(territories.get(region.upper()) or region for region in sorted(regions))


def _wait(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    if seconds < 90:
        return _("a minute")
    if minutes < 90:
        return _("{count} minutes").format(count=minutes)
    return _("{count} hours").format(count=round(minutes / 60))


def _date(value: datetime | None) -> str:
    return f"{value:%d %B %Y}".lstrip("0") if value else ""
