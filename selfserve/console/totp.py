"""Authenticator-app codes (TOTP, RFC 6238): secrets, the otpauth:// link and its QR, checking.

A code is six digits for a 30-second time step; codes of the step before and after are
accepted too (RFC 6238 section 5.2: a phone's clock drifts, and typing takes time). The step a
code matched is returned, so the caller can refuse it a second time (a replay).
"""

from __future__ import annotations

import base64
import hmac
import io
from datetime import datetime

import pyotp
import qrcode

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # the step before and the step after are accepted too


def new_totp_secret() -> str:
    """A fresh shared secret: 32 base32 characters (160 bits, RFC 4226's recommendation)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    """The otpauth:// link an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=email, issuer_name=issuer
    )


def qr_data_uri(text: str) -> str:
    """`text` as a QR code in a data: URI (PNG), for an <img> under our CSP (img-src data:)."""
    image = qrcode.make(
        text, box_size=6, border=4, error_correction=qrcode.constants.ERROR_CORRECT_M
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def time_step(now: datetime) -> int:
    """The RFC 6238 time step (counter) of `now`."""
    return int(now.timestamp()) // STEP_SECONDS


def looks_like_totp(code: str) -> bool:
    """True for six digits (spaces allowed, as apps show "123 456")."""
    digits = code.replace(" ", "").strip()
    return len(digits) == DIGITS and digits.isascii() and digits.isdigit()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is `code` (now, or one step either side), else None."""
    if not looks_like_totp(code):
        return None
    typed = code.replace(" ", "").strip()
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = time_step(now)
    for step in (current, current - DRIFT_STEPS, current + DRIFT_STEPS):
        if hmac.compare_digest(totp.generate_otp(step), typed):
            return step
    return None
