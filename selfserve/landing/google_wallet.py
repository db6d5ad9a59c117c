"""Google Wallet "Save" links of a coupon code: an RS256 JWT signed with a service-account key.

The link is `https://pay.google.com/gp/v/save/<jwt>`; the JWT carries the offer class (the
campaign) and the offer object (this customer's code), so nothing is created at Google
before the shopper taps the button. Signed with PyJWT over `cryptography`. The key file is
read once; a broken one is a `problem` (`flask --app app check` reports it; the button hides).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import jwt

from selfserve.landing.apple_wallet import PassFacts

SAVE_URL = "https://pay.google.com/gp/v/save/"
GOOGLE_BARCODES = {"code128": "CODE_128", "qr": "QR_CODE"}


class GoogleWallet:
    """Save-to-Google-Wallet links when GOOGLE_WALLET_ISSUER_ID and _KEY_FILE are set."""

    def __init__(
        self,
        issuer_id: str,
        key_file: str,
        public_base_url: str,
        brand_name: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._issuer_id = issuer_id
        self._key_file = key_file
        self._origin = public_base_url.rstrip("/")
        self._brand_name = brand_name
        self._clock = clock

    @property
    def configured(self) -> bool:
        """True when both settings are given (they may still be broken: see `problem`)."""
        return bool(self._issuer_id and self._key_file)

    @property
    def problem(self) -> str:
        """Why configured links cannot be signed ("" when they can, or when unconfigured)."""
        return self._loaded[1]

    @property
    def available(self) -> bool:
        """True when a link can be made: configured and the key works."""
        return self._loaded[0] is not None

    @cached_property
    def _loaded(self) -> tuple[tuple[str, str] | None, str]:
        if not self.configured:
            return None, ""
        try:
            account = json.loads(Path(self._key_file).read_text())
            email, key = account["client_email"], account["private_key"]
            jwt.encode({"probe": True}, key, algorithm="RS256")  # a key that cannot sign fails now
        except (OSError, ValueError, KeyError, TypeError, jwt.PyJWTError) as error:
            return None, f"Google Wallet: cannot use {self._key_file} ({type(error).__name__})"
        return (email, key), ""

    def save_url(self, facts: PassFacts) -> str:
        """The "Save to Google Wallet" link of one code. Raises RuntimeError when unavailable."""
        account = self._loaded[0]
        if account is None:
            raise RuntimeError(self.problem or "Google Wallet is not configured")
        email, key = account
        claims = {
            "iss": email,
            "aud": "google",
            "typ": "savetowallet",
            "iat": int(self._clock().timestamp()),
            "origins": [self._origin],
            "payload": {
                "offerClasses": [self._offer_class(facts)],
                "offerObjects": [self._offer_object(facts)],
            },
        }
        return SAVE_URL + jwt.encode(claims, key, algorithm="RS256")

    def _offer_class(self, facts: PassFacts) -> dict[str, object]:
        return {
            "id": f"{self._issuer_id}.{facts.campaign_slug}",
            "issuerName": self._brand_name,
            "title": facts.campaign_name,
            "provider": self._brand_name,
            "redemptionChannel": "INSTORE",
            "reviewStatus": "UNDER_REVIEW",
        }

    def _offer_object(self, facts: PassFacts) -> dict[str, object]:
        offer: dict[str, object] = {
            "id": f"{self._issuer_id}.{facts.serial}",
            "classId": f"{self._issuer_id}.{facts.campaign_slug}",
            "state": "ACTIVE",
        }
        if facts.barcode in GOOGLE_BARCODES:
            offer["barcode"] = {
                "type": GOOGLE_BARCODES[facts.barcode],
                "value": facts.code,
                "alternateText": facts.code,
            }
        if facts.expires_at is not None:
            end = facts.expires_at.astimezone(UTC).isoformat(timespec="seconds")
            offer["validTimeInterval"] = {"end": {"date": end}}
        return offer
