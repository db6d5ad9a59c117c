"""Security headers every HTML page of ours shares: CSP, no framing, no sniffing."""

from __future__ import annotations

from flask import Response

# Pages load only our own CSS and JS: no CDN, no inline script, no framing by other sites.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


def add_page_headers(response: Response) -> Response:
    """Security headers for our HTML pages (an `after_request` hook of their blueprints)."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def private_page(response: Response) -> Response:
    """`add_page_headers`, and keep the page out of shared caches (console data)."""
    response.headers.setdefault("Cache-Control", "no-store")
    return add_page_headers(response)
