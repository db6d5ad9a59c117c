"""Landing: the QR landing pages' visitors.

Owns scans (visits), proving a number with a one-time code (throttles, lockout), the look
of a page (readable brand colours, the code's QR) and the claim a proved visitor gets,
which is the SMS path's own coupon through `coupons`. It may import `journeys`, `coupons`
and everything below; never `texts`, `console` or `queue`.
"""

from selfserve.landing.apple_wallet import PKPASS_TYPE, ApplePasses
from selfserve.landing.claims import LandingClaims
from selfserve.landing.code_page_flow import CodePageFlow, ShownCode
from selfserve.landing.flow import LandingFlow, LandingPage
from selfserve.landing.google_wallet import GoogleWallet
from selfserve.landing.look import (
    code_qr_svg,
    contrast_ratio,
    darken_until_readable,
    palette_for,
    safe_logo_url,
    sms_uri,
)
from selfserve.landing.verification import (
    KEEP_ROWS_FOR,
    OneTimeCodes,
    SendThrottle,
    VerifiedNumber,
    normalise_code,
    random_code,
)

__all__ = [
    "ApplePasses",
    "CodePageFlow",
    "GoogleWallet",
    "KEEP_ROWS_FOR",
    "LandingClaims",
    "LandingFlow",
    "LandingPage",
    "OneTimeCodes",
    "PKPASS_TYPE",
    "SendThrottle",
    "ShownCode",
    "VerifiedNumber",
    "code_qr_svg",
    "contrast_ratio",
    "darken_until_readable",
    "normalise_code",
    "palette_for",
    "random_code",
    "safe_logo_url",
    "sms_uri",
]
