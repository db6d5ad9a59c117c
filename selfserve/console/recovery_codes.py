"""One-time recovery codes: for the day a phone is lost. Only salted hashes are stored.

Ten codes of 16 random base32 characters (80 bits each), shown once, grouped in fours. ASVS
2.6.2: a lookup secret below 112 bits is stored salted (a random 128-bit salt per code) and
hashed with an approved one-way function (SHA-256); at 80 bits of randomness a slow hash adds
nothing but delay, and a log-in may compare against all ten.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

RECOVERY_CODE_COUNT = 10
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32, lower case: easy to read and type
_LENGTH = 16


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """`count` fresh codes, each shown as xxxx-xxxx-xxxx-xxxx."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
        codes.append("-".join(raw[start : start + 4] for start in range(0, _LENGTH, 4)))
    return codes


def normalise_recovery_code(typed: str) -> str:
    """The code without spaces or dashes, lower case (as it is hashed)."""
    return "".join(typed.split()).replace("-", "").lower()


def hash_recovery_code(code: str, salt: str | None = None) -> str:
    """`salt$sha256(salt + code)` of the normalised code; a fresh salt unless one is given."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.sha256((salt + normalise_recovery_code(code)).encode()).hexdigest()
    return f"{salt}${digest}"


def recovery_code_matches(stored_hash: str, typed: str) -> bool:
    """True when `typed` is the code behind `stored_hash` (compared in constant time)."""
    salt, _, _ = stored_hash.partition("$")
    if len(normalise_recovery_code(typed)) != _LENGTH:
        return False
    return hmac.compare_digest(hash_recovery_code(typed, salt), stored_hash)
