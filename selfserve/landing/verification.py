"""One-time codes that prove a landing-page visitor owns a phone number, and their throttles.

A code is 6 digits from `secrets`, stored only as an HMAC (keyed with the app's secret and bound
to its verification's random token), lives 10 minutes and dies after 5 wrong guesses; then a
new one must be requested. Guesses are counted with one atomic UPDATE, so parallel requests
cannot sneak extra guesses past the limit on either database.

Sending codes costs money and can be abused to pump SMS traffic, so requests are throttled per
number and per client address in a moving window (the `limits` library: in this process's
memory, or in Redis when REDIS_URL is set so every process and host shares the counters).
SMS-pumping fraud walks through number ranges (+6140070000, …01, …02) from many addresses, so
codes are also counted per range (the number without its last digits); a range over its limit
is blocked for a while and nothing more is sent to it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import limits
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from selfserve.errors import (
    NumberRangeBlocked,
    TooManyCodeRequests,
    VerificationExpired,
    VerificationFailed,
    VerificationLocked,
    VerificationMissing,
)
from selfserve.models import PhoneVerification, utcnow
from selfserve.ops import redis_pool

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_WRONG_GUESSES = 5
# Rows (with their full number) are kept only as long as a visitor may still look at the
# coupon page of a verified session, then purged.
KEEP_ROWS_FOR = timedelta(days=1)


def random_code() -> str:
    """Six decimal digits from the operating system's secure random source."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def normalise_code(typed: str) -> str:
    """What a visitor typed, without the spaces and dashes phones like to insert."""
    digits = "".join(ch for ch in typed if not ch.isspace() and ch not in "-–")
    # Full-width or other Unicode digits (a phone keyboard in another script) count too.
    return "".join(str(int(ch)) if ch.isdecimal() else ch for ch in digits)[: CODE_DIGITS * 4]


@dataclass(frozen=True)
class Challenge:
    """A code just created: the token the visitor's session keeps, and the code to text."""

    token: str
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class VerifiedNumber:
    """A number the visitor proved they own, for one campaign."""

    token: str
    phone_e164: str
    campaign_slug: str
    source: str | None
    verified_at: datetime
    wants_offers: bool = False  # ticked "Send me offers by SMS" when asking for the code


@dataclass(frozen=True)
class CodeRequest:
    """What a visitor asked a code for: enough to send them a new one without retyping."""

    campaign_slug: str
    phone_e164: str
    source: str | None
    wants_offers: bool


class OneTimeCodes:
    """Creates and checks one-time codes; the caller owns the transaction (`db`)."""

    def __init__(
        self,
        secret: str,
        clock: Callable[[], datetime] = utcnow,
        new_code: Callable[[], str] = random_code,
        lifetime: timedelta = CODE_LIFETIME,
        max_wrong_guesses: int = MAX_WRONG_GUESSES,
    ) -> None:
        # A key of its own, derived from the app's secret, so no other use of it collides.
        self._key = hmac.new(secret.encode(), b"selfserve/one-time-codes", hashlib.sha256).digest()
        self.clock = clock
        self._new_code = new_code
        self.lifetime = lifetime
        self.max_wrong_guesses = max_wrong_guesses

    def code_hash(self, token: str, code: str) -> str:
        """The stored form of a code: HMAC-SHA256 over the verification's token and the code."""
        return hmac.new(self._key, f"{token}:{code}".encode(), hashlib.sha256).hexdigest()

    def start(
        self,
        db: Session,
        campaign_slug: str,
        phone_e164: str,
        source: str | None,
        wants_offers: bool = False,
    ) -> Challenge:
        """Create a code for `phone_e164`; earlier unused codes for it and the campaign die.

        `wants_offers` keeps the visitor's offers tick with the code, on the server, until the
        code is confirmed.
        """
        now = self.clock()
        db.execute(
            delete(PhoneVerification).where(PhoneVerification.created_at < now - KEEP_ROWS_FOR)
        )
        db.execute(
            update(PhoneVerification)
            .where(
                PhoneVerification.phone_e164 == phone_e164,
                PhoneVerification.campaign_slug == campaign_slug,
                PhoneVerification.state == "pending",
            )
            .values(state="superseded")
        )
        token = secrets.token_urlsafe(24)
        code = self._new_code()
        expires_at = now + self.lifetime
        db.add(
            PhoneVerification(
                token=token,
                campaign_slug=campaign_slug,
                phone_e164=phone_e164,
                code_hash=self.code_hash(token, code),
                source=source,
                wants_offers=wants_offers,
                state="pending",
                attempts=0,
                created_at=now,
                expires_at=expires_at,
            )
        )
        db.flush()
        return Challenge(token, code, expires_at)

    def check(self, db: Session, token: str, typed: str) -> VerifiedNumber:
        """Accept the right code once; raises VerificationFailed/Expired/Locked/Missing.

        Every guess is counted before it is compared, in one UPDATE … RETURNING, so two
        guesses at the same moment cannot both slip under the limit.
        """
        now = self.clock()
        guessed = db.execute(
            update(PhoneVerification)
            .where(
                PhoneVerification.token == token,
                PhoneVerification.state == "pending",
                PhoneVerification.expires_at > now,
                PhoneVerification.attempts < self.max_wrong_guesses,
            )
            .values(attempts=PhoneVerification.attempts + 1)
            .returning(
                PhoneVerification.id, PhoneVerification.code_hash, PhoneVerification.attempts
            )
        ).first()
        if guessed is None:
            raise self._why_not_pending(db, token, now)
        if hmac.compare_digest(guessed.code_hash, self.code_hash(token, normalise_code(typed))):
            db.execute(
                update(PhoneVerification)
                .where(PhoneVerification.id == guessed.id)
                .values(state="verified", verified_at=now)
            )
            verified = self.verified(db, token)
            assert verified is not None  # noqa: S101 - updated just above, same transaction
            return verified
        if guessed.attempts >= self.max_wrong_guesses:
            db.execute(
                update(PhoneVerification)
                .where(PhoneVerification.id == guessed.id)
                .values(state="locked")
            )
            raise VerificationLocked()
        raise VerificationFailed(self.max_wrong_guesses - guessed.attempts)

    def verified(
        self, db: Session, token: str, within: timedelta = KEEP_ROWS_FOR
    ) -> VerifiedNumber | None:
        """The number a token proved, if it was verified less than `within` ago."""
        row = db.execute(
            select(
                PhoneVerification.phone_e164,
                PhoneVerification.campaign_slug,
                PhoneVerification.source,
                PhoneVerification.verified_at,
                PhoneVerification.wants_offers,
            ).where(PhoneVerification.token == token, PhoneVerification.state == "verified")
        ).first()
        if row is None or row.verified_at is None or row.verified_at < self.clock() - within:
            return None
        return VerifiedNumber(
            token,
            row.phone_e164,
            row.campaign_slug,
            row.source,
            row.verified_at,
            bool(row.wants_offers),
        )

    def sent_to(self, db: Session, token: str) -> CodeRequest | None:
        """What a token's code (in any state) was asked for, for "send me a new code"."""
        row = db.execute(
            select(
                PhoneVerification.campaign_slug,
                PhoneVerification.phone_e164,
                PhoneVerification.source,
                PhoneVerification.wants_offers,
            ).where(PhoneVerification.token == token)
        ).first()
        if row is None:
            return None
        return CodeRequest(row.campaign_slug, row.phone_e164, row.source, bool(row.wants_offers))

    def _why_not_pending(self, db: Session, token: str, now: datetime) -> Exception:
        row = db.execute(
            select(
                PhoneVerification.state,
                PhoneVerification.expires_at,
                PhoneVerification.attempts,
            ).where(PhoneVerification.token == token)
        ).first()
        if row is None or row.state in ("superseded", "verified"):
            return VerificationMissing()
        if row.state == "locked" or row.attempts >= self.max_wrong_guesses:
            return VerificationLocked()
        if row.expires_at <= now:
            return VerificationExpired()
        return VerificationMissing()


@dataclass(frozen=True)
class RangeLimit:
    """Codes per number range: `digits` dropped from the end name the range (0: off)."""

    digits: int = 2
    per_range: str = "10 per 10 minutes"
    block_seconds: int = 3600


def number_range(phone_e164: str, digits: int) -> str:
    """The range a number belongs to: itself without its last `digits` digits."""
    return phone_e164[:-digits] if digits > 0 else phone_e164


class RangeJustBlocked(NumberRangeBlocked):
    """This request pushed its range over the limit: the block starts now (log it once)."""


class SendThrottle:
    """Moving-window limits on sending codes, per number, per client address and per range.

    Counters live in `storage_uri` (`memory://`, or a `redis://` URL shared by every process).
    Numbers and ranges are keyed by a keyed hash, so the shared store never holds a number.
    """

    def __init__(
        self,
        storage_uri: str,
        per_number: str,
        per_address: str,
        secret: str,
        namespace: str = "otp",
        ranges: RangeLimit | None = None,
    ) -> None:
        self._pool: Any = None
        options: dict[str, Any] = {}
        if storage_uri.startswith(("redis://", "rediss://")):
            # Our own pool, so close() can release its sockets (tests build many apps).
            self._pool = redis_pool(storage_uri)
            options["connection_pool"] = self._pool
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri, **options))
        self._per_number = limits.parse_many(per_number)
        self._per_address = limits.parse_many(per_address)
        self._ranges = ranges or RangeLimit(digits=0)
        self._per_range = limits.parse_many(self._ranges.per_range)
        self._block = limits.RateLimitItemPerSecond(1, max(1, self._ranges.block_seconds))
        self._key = hmac.new(secret.encode(), b"selfserve/otp-throttle", hashlib.sha256).digest()
        self._namespace = namespace

    def spend(self, phone_e164: str, client_address: str) -> None:
        """Count one code sent; raises TooManyCodeRequests (nothing counted) when over a limit.

        NumberRangeBlocked when the number's range is blocked; RangeJustBlocked when this
        request is the one that went over the range's limit (the block starts with it).
        """
        range_key = self._hashed(number_range(phone_e164, self._ranges.digits))
        if self._ranges.digits and not self._limiter.test(
            self._block, self._namespace, "range-block", range_key
        ):
            raise NumberRangeBlocked(self._retry_after(self._block, "range-block", range_key))
        checks = [(item, "address", client_address) for item in self._per_address] + [
            (item, "number", self._hashed(phone_e164)) for item in self._per_number
        ]
        if self._ranges.digits:
            checks += [(item, "range", range_key) for item in self._per_range]
        for item, kind, key in checks:
            if not self._limiter.test(item, self._namespace, kind, key):
                raise self._refusal(item, kind, key)
        for item, kind, key in checks:
            # test() then hit() can race; hit() is the authority and refuses past the limit.
            if not self._limiter.hit(item, self._namespace, kind, key):
                raise self._refusal(item, kind, key)

    def close(self) -> None:
        """Release the shared store's connections, if any."""
        if self._pool is not None:
            self._pool.disconnect()

    def _hashed(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:32]

    def _refusal(self, item: limits.RateLimitItem, kind: str, key: str) -> TooManyCodeRequests:
        if kind != "range":
            return TooManyCodeRequests(kind, self._retry_after(item, kind, key))
        # The first request over the limit starts the block (hit() admits exactly one).
        if self._limiter.hit(self._block, self._namespace, "range-block", key):
            return RangeJustBlocked(self._ranges.block_seconds)
        return NumberRangeBlocked(self._retry_after(self._block, "range-block", key))

    def _retry_after(self, item: limits.RateLimitItem, kind: str, key: str) -> int:
        stats = self._limiter.get_window_stats(item, self._namespace, kind, key)
        return max(1, math.ceil(stats.reset_time - time.time()))
