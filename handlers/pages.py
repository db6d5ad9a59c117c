"""Security headers every HTML page of ours shares: CSP, no framing, no sniffing.

handlers/security.py adds them to every response of the app; these blueprint hooks keep them on
the pages that registered them first, and add `no-store` to private ones.
"""

from __future__ import annotations

from flask import Response

from handlers.security import PAGE_POLICY


def add_page_headers(response: Response) -> Response:
    """Security headers for our HTML pages (an `after_request` hook of their blueprints)."""
    response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def private_page(response: Response) -> Response:
    """`add_page_headers`, and keep the page out of shared caches (console data)."""
    response.headers.setdefault("Cache-Control", "no-store")
    return add_page_headers(response)
