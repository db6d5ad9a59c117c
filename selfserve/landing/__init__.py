"""Landing: the QR landing pages' visitors, code pages and wallets.

Owns scans (visits), proving a number with a one-time code (throttles, range velocity,
lockout, the ALTCHA bot challenge, rotating screen tokens), the look of a page (readable
brand colours, the code's QR), the claim a proved visitor gets (the SMS path's own coupon
through `coupons`), and the code page with its barcodes and Apple/Google Wallet passes. It
may import `journeys`, `coupons` and everything below; never `texts`, `console` or `queue`.
"""

from selfserve.landing.apple_wallet import PKPASS_TYPE, ApplePasses
from selfserve.landing.challenge import BotChallenge
from selfserve.landing.claims import Claim, LandingClaims
from selfserve.landing.code_page_flow import CodePageFlow, ShownCode
from selfserve.landing.flow import LandingFlow, LandingPage
from selfserve.landing.google_wallet import GoogleWallet
from selfserve.landing.guards import LandingGuards
from selfserve.landing.look import (
    code_qr_svg,
    contrast_ratio,
    darken_until_readable,
    palette_for,
    safe_logo_url,
    sms_uri,
    whatsapp_uri,
)
from selfserve.landing.referral_pages import ReferralPages
from selfserve.landing.screens import ScreenTokens, screen_qr_png
from selfserve.landing.verification import (
    KEEP_ROWS_FOR,
    OneTimeCodes,
    RangeLimit,
    SendThrottle,
    VerifiedNumber,
    normalise_code,
    random_code,
)
from selfserve.landing.words import PageWords

__all__ = [
    "ApplePasses",
    "BotChallenge",
    "Claim",
    "CodePageFlow",
    "GoogleWallet",
    "KEEP_ROWS_FOR",
    "LandingClaims",
    "LandingFlow",
    "LandingGuards",
    "LandingPage",
    "OneTimeCodes",
    "PKPASS_TYPE",
    "PageWords",
    "RangeLimit",
    "ReferralPages",
    "ScreenTokens",
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
    "screen_qr_png",
    "sms_uri",
    "whatsapp_uri",
]
