"""Console passwords: long enough, not common, not breached (OWASP ASVS 2.1.1, 2.1.7).

No composition rules (NIST SP 800-63B): at least 12 characters, at most 1024, and not in the
bundled list of the 20,000 most common passwords (data/common-passwords.txt.gz, from Django),
nor such a password with digits or symbols around it, nor one repeated. With
PASSWORD_BREACH_CHECK=hibp, also not in Have I Been Pwned's Pwned Passwords: only the first five
hex characters of the password's SHA-1 leave the host (the range API's k-anonymity), and when
the API cannot be reached the check is skipped with a log line (fails open).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import httpx

from selfserve.errors import ConsoleUserError

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12  # ASVS 2.1.1
MAX_PASSWORD_LENGTH = 1024  # hashing a megabyte "password" is a cheap denial of service
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt.gz"
PWNED_PASSWORDS_URL = "https://api.pwnedpasswords.com"
_AROUND = re.compile(r"^[\d\W_]*(.*?)[\d\W_]*$", re.DOTALL)  # digits/symbols around a word


class BreachCheck(Protocol):
    """Whether a password is known from breaches: True, False, or None when unknown."""

    def is_breached(self, password: str) -> bool | None: ...


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled common passwords, read once on first use."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def is_common(password: str) -> bool:
    """True for a listed password, or one with only digits/symbols around a listed word
    ("password1234", "!!monkey2026"), or one short unit repeated ("abcabcabcabc")."""
    lowered = password.strip().lower()
    common = common_passwords()
    if lowered in common:
        return True
    core = _AROUND.match(lowered).group(1)  # type: ignore[union-attr]  # always matches
    if core and (core in common or _repeats(core, common)):
        return True
    return not core and _is_digit_run(lowered)


def _repeats(text: str, common: frozenset[str]) -> bool:
    """True when `text` is a short or common unit said again and again."""
    for size in range(1, len(text) // 2 + 1):
        unit = text[:size]
        if len(text) % size == 0 and unit * (len(text) // size) == text:
            return size <= 4 or unit in common
    return False


def _is_digit_run(text: str) -> bool:
    """Digits and symbols only, with few distinct digits or counting up or down."""
    digits = [int(char) for char in text if char.isdigit()]
    if len(set(digits)) <= 3:
        return True
    steps = {(later - earlier) % 10 for earlier, later in zip(digits, digits[1:], strict=False)}
    return steps <= {1} or steps <= {9}


class PwnedPasswords:
    """Have I Been Pwned's range API: sends the first 5 hex characters of the SHA-1 only."""

    def __init__(self, http: httpx.Client, base_url: str = PWNED_PASSWORDS_URL) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")

    def is_breached(self, password: str) -> bool | None:
        """True when the password is in a known breach; None (logged) when the API fails."""
        digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
        prefix, suffix = digest[:5], digest[5:]
        try:
            response = self._http.get(
                f"{self._base_url}/range/{prefix}", headers={"Add-Padding": "true"}
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            log.warning("pwned_passwords_unreachable", extra={"error": type(error).__name__})
            return None
        for line in response.text.splitlines():
            listed, _, count = line.strip().partition(":")
            if listed.upper() == suffix and count.strip() not in ("", "0"):
                return True  # a padding line has a count of 0
        return False

    def close(self) -> None:
        """Release the HTTP client's connections."""
        self._http.close()


class PasswordPolicy:
    """The rules a console password must meet; `breaches` is None unless it is configured."""

    def __init__(self, breaches: BreachCheck | None = None) -> None:
        self._breaches = breaches

    def problem(self, password: str) -> str | None:
        """Why `password` may not be used, or None when it may."""
        if len(password) < MIN_PASSWORD_LENGTH:
            return f"the password needs at least {MIN_PASSWORD_LENGTH} characters"
        if len(password) > MAX_PASSWORD_LENGTH:
            return f"the password may have at most {MAX_PASSWORD_LENGTH} characters"
        if is_common(password):
            return "that password is one of the most common ones: choose another"
        if self._breaches is not None and self._breaches.is_breached(password):
            return "that password appears in known data breaches: choose another"
        return None

    def close(self) -> None:
        """Release what the breach check holds (its HTTP connections)."""
        close = getattr(self._breaches, "close", None)
        if close is not None:
            close()

    def check(self, password: str) -> None:
        """Raise ConsoleUserError saying why `password` may not be used."""
        found = self.problem(password)
        if found is not None:
            raise ConsoleUserError(found)
