"""Flask's signed-cookie sessions, with the signing serializer built once per key set.

Flask builds a new itsdangerous serializer on every request, session or not; on the webhook
(no cookie, no session) that was a tenth of the request's time. The serializer depends only
on the secret key and its fallbacks, so it is kept and rebuilt when they change.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class CachedSerializerSessions(SecureCookieSessionInterface):
    """SecureCookieSessionInterface, reusing its serializer while the keys stay the same."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: tuple[Any, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """The serializer for the app's current secret key and fallbacks."""
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._cached
        if cached is not None and cached[0] == keys:
            return cached[1]
        with self._lock:
            serializer = super().get_signing_serializer(app)
            self._cached = (keys, serializer)
        return serializer
