"""The landing form's bot challenge: ALTCHA proof of work, verified on our own server.

A challenge is the `altcha` package's v2 challenge (PBKDF2/SHA-256, the algorithm ALTCHA's
widget solves with the browser's own WebCrypto), signed with an HMAC key derived from
SECRET_KEY and expiring after 10 minutes. The form posts the solved payload (base64 JSON,
the widget's encoding) in the `altcha` field. Each solution is accepted once: its challenge's
signature is remembered until the challenge would have expired anyway, in the same store as
the one-time-code throttles (this process's memory, or Redis with REDIS_URL), so a replay is
refused on every process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import altcha
import limits
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from selfserve.ops import redis_pool

ALGORITHM = "PBKDF2/SHA-256"
COST = 5_000  # PBKDF2 iterations per try; ~256 tries on average for the "00" prefix
LIFETIME_SECONDS = 10 * 60
FIELD = "altcha"  # the form field the widget (and our static/altcha.js) fills in


class BotChallenge:
    """Issues and checks ALTCHA challenges; a solution counts once."""

    def __init__(
        self,
        secret: str,
        storage_uri: str = "memory://",
        cost: int = COST,
        lifetime_seconds: int = LIFETIME_SECONDS,
    ) -> None:
        self._key = hmac.new(secret.encode(), b"selfserve/altcha", hashlib.sha256).hexdigest()
        self._cost = cost
        self._lifetime = lifetime_seconds
        self._pool: Any = None
        options: dict[str, Any] = {}
        if storage_uri.startswith(("redis://", "rediss://")):
            self._pool = redis_pool(storage_uri)
            options["connection_pool"] = self._pool
        self._used = FixedWindowRateLimiter(storage_from_string(storage_uri, **options))
        # One use per signature, remembered a little longer than a challenge lives.
        self._once = limits.RateLimitItemPerSecond(1, lifetime_seconds + 60)

    def new(self) -> str:
        """A fresh signed challenge, as the JSON the widget (or the altcha package) solves."""
        challenge = altcha.create_challenge(
            ALGORITHM,
            self._cost,
            expires_at=int(time.time()) + self._lifetime,
            hmac_secret=self._key,
        )
        return json.dumps(challenge.to_dict(), separators=(",", ":"))

    def accept(self, payload: str) -> bool:
        """True for a valid, unexpired solution seen for the first time; False otherwise."""
        if not payload or len(payload) > 4096:
            return False
        try:
            result = altcha.verify_solution(payload, self._key)
        except (ValueError, TypeError, KeyError):
            return False
        if not result.verified:
            return False
        signature = altcha.Payload.from_base64(payload).challenge.signature or ""
        return self._used.hit(self._once, "altcha-used", signature)

    def close(self) -> None:
        """Release the shared store's connections, if any."""
        if self._pool is not None:
            self._pool.disconnect()
