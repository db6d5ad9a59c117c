"""The web surface's security headers, on every response of the app, and /robots.txt.

Every response gets `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin` and a
Content-Security-Policy; with an https `PUBLIC_BASE_URL` also HSTS. Pages that need a policy
of their own (the QR landing pages: per-request nonces for their one `<style>` and `<script>`,
and the campaign logo's site) set it in their blueprint's hook, which runs before this one;
everything else (home, console, simulator, error pages, static files, JSON) gets `PAGE_POLICY`.
No page of ours may be framed: no kiosk or screen page needs it, so `frame-ancestors 'none'`.

`connect-src 'self'` is there for the simulator's fetches (and for audits such as Lighthouse's
SEO check, which fetches /robots.txt from inside the page).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response

from selfserve.ops import Settings

# Our own CSS and JS files only: no inline script or style, no CDN, no framing, no plugins.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
HSTS = "max-age=31536000"  # a year; no includeSubDomains: other hosts of the domain are not ours

# Landing pages may be indexed (they are what a poster advertises); the console, the simulator,
# short links and webhooks may not. Disallow stops polite crawlers; the console needs a log-in
# and the simulator is a 404 outside the sandbox anyway.
ROBOTS_TXT = """\
User-agent: *
Allow: /q/
Disallow: /admin
Disallow: /dev
Disallow: /c/
Disallow: /webhooks/
"""

bp = Blueprint("security", __name__)


@bp.get("/robots.txt")
def robots_txt() -> Response:
    """What crawlers may index: landing pages yes; console, simulator and short links no."""
    response = Response(ROBOTS_TXT, mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def landing_policy(nonce: str, image_origin: str = "") -> str:
    """The landing pages' CSP: their inline `<style>`/`<script>` by nonce; images from us,
    `data:` and the campaign logo's own site (`image_origin`, e.g. https://cdn.acme.example)."""
    images = " ".join(part for part in ("'self'", "data:", image_origin) if part)
    return (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        f"img-src {images}; connect-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of an absolute http(s) URL; "" for a site path or anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def security_header_list(https: bool) -> list[tuple[str, str]]:
    """The headers every response of ours carries, as (name, value) pairs."""
    headers = [
        ("Content-Security-Policy", PAGE_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),  # frame-ancestors, for old browsers
    ]
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def add_security_headers(response: Response, https: bool) -> Response:
    """The headers every response of ours carries (a page's own CSP, set earlier, wins)."""
    headers = response.headers
    for name, value in security_header_list(https):
        headers.setdefault(name, value)
    return response


def security_headers(https: bool) -> Callable[[Response], Response]:
    """An `after_request` hook adding `add_security_headers`."""
    return lambda response: add_security_headers(response, https)


def init_security(app: Flask, settings: Settings) -> None:
    """Headers on every response of `app`, /robots.txt, and cookie flags for every cookie."""
    https = settings.public_base_url.startswith("https://")
    # The session cookie (sessions, CSRF, the landing journey) and Flask-Login's remember-me
    # cookie: never readable by scripts, not sent on cross-site posts, https-only on https.
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=https,
    )
    app.after_request(security_headers(https))
    app.register_blueprint(bp)
