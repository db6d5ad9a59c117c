"""The screen page of a screen-only campaign: `/screen/<slug>?key=…` and its rotating QR.

A stadium screen or till display opens the secret URL `flask --app app posters screen-url`
prints. The page shows one big QR code (`/screen/<slug>/qr.png?key=…`) that encodes the
landing page with a token for the current time window; static/screen.js swaps the image every
`fresh_scan_seconds` without reloading, and a <noscript> meta refresh reloads the whole page
instead. A wrong key, or a campaign without `fresh_scan_seconds`, is a plain 404.

The page may be framed by kiosk software, so unlike every other page it allows framing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request

from handlers.services import services
from selfserve.errors import CampaignClosed, UnknownCampaign
from selfserve.landing import LandingPage, screen_qr_png

bp = Blueprint("screen", __name__, url_prefix="/screen")


@bp.after_request
def protect_screen(response: Response) -> Response:
    """Only our own files; no caching (the key is in the URL); framing allowed for kiosks."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; script-src 'self'; style-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors *"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _screen_page(slug: str) -> LandingPage:
    """The campaign behind a screen URL with the right key; anything else is a 404."""
    landing = services().landing
    try:
        page = landing.page(slug)
    except (UnknownCampaign, CampaignClosed):
        abort(404)
    key = request.args.get("key", "")
    if not page.fresh_scan_seconds or not landing.guards.screens.key_ok(page.slug, key):
        abort(404)
    return page


@bp.get("/<slug>")
def screen(slug: str) -> Any:
    """The full-screen QR code."""
    page = _screen_page(slug)
    return render_template(
        "screen.html",
        page=page,
        key=request.args.get("key", ""),
        seconds=page.fresh_scan_seconds,
    )


@bp.get("/<slug>/qr.png")
def qr(slug: str) -> Response:
    """The QR code of this time window's landing URL, as a PNG."""
    page = _screen_page(slug)
    url = services().landing.guards.scan_url(page.slug, page.fresh_scan_seconds)
    return Response(screen_qr_png(url), mimetype="image/png")
