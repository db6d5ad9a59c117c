"""Code pages: `/c/<token>` shows one customer's code at the till, with its barcode and wallets.

Thin: each view makes one call to `CodePageFlow` and renders. An unknown, altered or
malformed token gets the same plain 404 (nothing says which it was). Every route is
throttled per IP (CODE_PAGE_LIMIT_PER_IP): tokens cannot be guessed, and nobody gets to try.
The pages carry `noindex` (landing/base.html) and robots.txt keeps crawlers off /c/.
"""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Any

from babel.dates import format_date
from flask import Blueprint, Response, abort, render_template, url_for

from handlers.landing.pages import csp_nonce
from handlers.landing.routes import protect_page
from handlers.page_words import page_gettext, page_language, use_page_language
from handlers.services import services
from handlers.web import limiter
from selfserve.landing import PKPASS_TYPE, CodePageFlow, ShownCode, palette_for

bp = Blueprint("code_pages", __name__, url_prefix="/c")
bp.after_request(protect_page)  # the landing pages' headers: CSP with a nonce, no-store, DENY


@bp.after_request
def keep_out_of_search(response: Response) -> Response:
    """Pictures and passes too: a code page is nobody's search result."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


limiter.limit(lambda: services().settings.code_page_limit_per_ip)(bp)

OWED_REFRESH_SECONDS = 15
IMAGE_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


def code_page_flow() -> CodePageFlow:
    """The running app's code pages."""
    return services().code_page_flow


@bp.get("/<token>")
def code_page(token: str) -> Any:
    """The code, its barcode and wallet buttons; "on its way" (refreshing) while owed."""
    shown = code_page_flow().show(token)
    if shown is None:
        return _not_found()
    use_page_language(shown.language)
    body = render_template(
        "codes/code.html",
        **_look(shown.brand_colour, shown.accent_colour),
        shown=shown,
        expiry=_date(shown.expires_at),
        used_on=_day_and_month(shown.used_on),
        barcode_url=url_for("code_pages.barcode", token=token, image_format="svg"),
        pass_url=url_for("code_pages.apple_pass", token=token),
        refresh_seconds=OWED_REFRESH_SECONDS,
    )
    response = Response(body, mimetype="text/html")
    if shown.owed:  # the page asks again by itself (no script: a Refresh header)
        response.headers["Refresh"] = str(OWED_REFRESH_SECONDS)
    return response


@bp.get("/<token>/barcode.<image_format>")
def barcode(token: str, image_format: str) -> Response:
    """The code's barcode picture (PNG for MMS, SVG for pages); 404 without one."""
    if image_format not in IMAGE_TYPES:
        abort(HTTPStatus.NOT_FOUND)
    image = code_page_flow().barcode(token, image_format)
    if image is None:
        abort(HTTPStatus.NOT_FOUND)
    response = Response(image, mimetype=IMAGE_TYPES[image_format])
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/<token>/pass.pkpass")
def apple_pass(token: str) -> Response:
    """The Apple Wallet pass; 404 when Apple Wallet is not set up (or broken)."""
    signed = code_page_flow().apple_pass(token)
    if signed is None:
        abort(HTTPStatus.NOT_FOUND)
    response = Response(signed, mimetype=PKPASS_TYPE)
    response.headers["Content-Disposition"] = 'attachment; filename="coupon.pkpass"'
    return response


@bp.errorhandler(HTTPStatus.NOT_FOUND)
def not_found(_error: Exception) -> tuple[str, int]:
    """The same plain 404 for every kind of wrong token."""
    return _not_found()


def _not_found() -> tuple[str, int]:
    return render_template(
        "landing/message.html",
        **_look("", ""),
        heading=page_gettext("We can't find that code"),
        message=page_gettext("Please check the link in your text message."),
        retry_url="",
    ), int(HTTPStatus.NOT_FOUND)


def _look(brand: str, accent: str) -> dict[str, Any]:
    return {
        "page": None,
        "brand_name": services().settings.program_name,
        "palette": palette_for(brand, accent),
        "nonce": csp_nonce(),
    }


def _date(value: datetime | None) -> str:
    return f"{value:%d %b %Y}" if value is not None else ""


def _day_and_month(value: datetime | None) -> str:
    """ "12 Dec" in the page's language ("12 déc." in French)."""
    if value is None:
        return ""
    try:
        return format_date(value, "d MMM", locale=page_language() or "en")
    except (ValueError, LookupError):  # a language Babel does not know: English
        return format_date(value, "d MMM", locale="en")


__all__ = ["ShownCode", "bp"]
