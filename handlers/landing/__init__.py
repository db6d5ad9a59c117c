"""QR landing pages: `/q/<slug>` → the number → a one-time code → the coupon on the page.

Thin: each view reads the form, makes one call to `LandingFlow`, and renders. The pending
verification lives in the server-signed session as a random token (never the number, and
nothing personal in a URL). Every POST carries the global CSRF token. Every page works
without JavaScript; scripts only add a copy button and Android's SMS code autofill.

One blueprint, `landing`: `routes` holds it with its views, `pages` renders them and
`visitor_state` keeps each campaign's pending verification in the session; `referrals`
holds `referral_bp`, the /r/<code> pages of referral codes.
"""

from handlers.landing.referrals import bp as referral_bp
from handlers.landing.routes import bp

__all__ = ["bp", "referral_bp"]
