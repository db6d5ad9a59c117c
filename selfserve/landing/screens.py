"""Screen QR codes that rotate: "you had to be here" campaigns (`fresh_scan_seconds`).

A stadium screen or till display shows `/screen/<slug>?key=…`; its QR encodes the landing
URL with a token, a MAC over the campaign and the current time window of
`fresh_scan_seconds`. The landing page accepts the current window's token and the previous
one's (a scan just before the change still works), so a photo posted online stops working
within two windows. The screen's key is derived from SECRET_KEY and a generation number kept
per campaign; rotating the generation revokes every URL printed before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import time
from collections.abc import Callable
from datetime import datetime

import qrcode
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.models import ScreenKey, utcnow
from selfserve.ops import insert_ignoring_duplicates

TOKEN_BYTES = 12


def _mac(key: bytes, message: str, size: int) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()[:size]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def screen_qr_png(text: str) -> bytes:
    """A PNG QR code of `text`, big and with a quiet zone, for a screen across a room."""
    image = qrcode.make(text, box_size=16, border=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class ScreenTokens:
    """Screen keys per campaign and the short-lived tokens their QR codes carry."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        secret: str,
        now: Callable[[], float] = time.time,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        root = hmac.new(secret.encode(), b"selfserve/screens", hashlib.sha256).digest()
        self._key_root = hmac.new(root, b"keys", hashlib.sha256).digest()
        self._token_root = hmac.new(root, b"tokens", hashlib.sha256).digest()
        self._now = now
        self._clock = clock

    # -- the screen's key ------------------------------------------------------------------

    def key_for(self, slug: str) -> str:
        """The campaign's current screen key (its first one is made on first use)."""
        return self._key(slug, self._generation(slug, create=True))

    def rotate(self, slug: str) -> str:
        """Revoke the campaign's screen URL: a new key generation; returns the new key."""
        generation = self._generation(slug, create=True) + 1
        with self._sessions.begin() as db:
            db.execute(
                update(ScreenKey)
                .where(ScreenKey.campaign_slug == slug)
                .values(generation=generation, rotated_at=self._clock())
            )
        return self._key(slug, generation)

    def key_ok(self, slug: str, key: str) -> bool:
        """Whether `key` is the campaign's current screen key."""
        generation = self._generation(slug, create=False)
        return bool(generation and key) and hmac.compare_digest(self._key(slug, generation), key)

    # -- the QR's token --------------------------------------------------------------------

    def token(self, slug: str, window_seconds: int) -> str:
        """The token for the current time window."""
        return self._token(slug, window_seconds, self._window(window_seconds))

    def token_ok(self, slug: str, token: str, window_seconds: int) -> bool:
        """Whether `token` belongs to the current or the previous time window."""
        if not token or len(token) > 64:
            return False
        window = self._window(window_seconds)
        return any(
            hmac.compare_digest(self._token(slug, window_seconds, w), token)
            for w in (window, window - 1)
        )

    def _window(self, window_seconds: int) -> int:
        return int(self._now() // max(1, window_seconds))

    def _token(self, slug: str, window_seconds: int, window: int) -> str:
        return _mac(self._token_root, f"{slug}:{window_seconds}:{window}", TOKEN_BYTES)

    def _key(self, slug: str, generation: int) -> str:
        return _mac(self._key_root, f"{slug}:{generation}", 18)

    def _generation(self, slug: str, create: bool) -> int:
        with self._sessions() as db:
            generation = db.execute(
                select(ScreenKey.generation).where(ScreenKey.campaign_slug == slug)
            ).scalar_one_or_none()
        if generation is not None or not create:
            return int(generation or 0)
        with self._sessions.begin() as db:
            insert_ignoring_duplicates(
                db,
                ScreenKey.__table__,
                {"campaign_slug": slug, "generation": 1, "rotated_at": self._clock()},
            )
        return self._generation(slug, create=False)
