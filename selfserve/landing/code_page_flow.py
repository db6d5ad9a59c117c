"""The code page (`/c/<token>`): one customer's code to show at the till.

Finds the claim by its token (coupons/code_pages.py), and gives the page what it shows: the
campaign's name, the code, its expiry, the barcode in the campaign's format, and the wallet
buttons that work. A code still owed says "on its way". A wallet whose configuration is
broken is logged once and its button hidden; a shopper never gets a 500 for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook, CampaignSpec
from selfserve.coupons import CodePage, CodePages
from selfserve.landing.apple_wallet import ApplePasses, PassFacts
from selfserve.landing.barcodes import barcode_image
from selfserve.landing.google_wallet import GoogleWallet
from selfserve.landing.look import palette_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShownCode:
    """What one code page shows (`code` is "" while the code is still owed)."""

    token: str
    campaign_name: str
    offer: str
    code: str
    expires_at: datetime | None
    barcode: str  # code128 | qr | none
    apple_wallet: bool
    google_wallet_url: str
    brand_colour: str
    accent_colour: str
    language: str = ""  # the campaign's `language` ("" = the first of SMS_LANGUAGES)
    used_on: datetime | None = None  # redeemed at a till: no barcode, no wallet

    @property
    def used(self) -> bool:
        """True once the code was redeemed (the page says so, and a till cannot scan it)."""
        return self.used_on is not None

    @property
    def owed(self) -> bool:
        """True while Talon.One's code is on its way (the page refreshes itself)."""
        return not self.code


class CodePageFlow:
    """Code pages, their barcode pictures and wallet passes, by token."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        campaigns: CampaignBook,
        code_pages: CodePages,
        apple: ApplePasses,
        google: GoogleWallet,
    ) -> None:
        self._sessions = sessions
        self._campaigns = campaigns
        self._code_pages = code_pages
        self._apple = apple
        self._google = google
        self._reported: set[str] = set()

    def show(self, token: str) -> ShownCode | None:
        """The page of this token; None for an unknown or altered token (a plain 404)."""
        found = self._find(token)
        if found is None:
            return None
        page, campaign = found
        facts = _facts(page, campaign)
        return ShownCode(
            token=page.token,
            campaign_name=campaign.name,
            offer=str(campaign.option("offer", "") or ""),
            code=page.code or "",
            expires_at=page.expires_at,
            barcode=campaign.barcode,
            apple_wallet=facts is not None and self._works(self._apple),
            google_wallet_url=self._google.save_url(facts)
            if facts is not None and self._works(self._google)
            else "",
            used_on=page.used_on,
            brand_colour=str(campaign.option("brand_colour", "") or ""),
            accent_colour=str(campaign.option("accent_colour", "") or ""),
            language=campaign.language,
        )

    def barcode(self, token: str, image_format: str) -> bytes | None:
        """The code's barcode picture (png or svg); None without a code or a barcode, or
        once the code was used (a till must not scan it twice)."""
        found = self._find(token)
        if found is None or found[0].code is None or found[1].barcode == "none":
            return None
        if found[0].used_on is not None:
            return None
        return barcode_image(found[0].code, found[1].barcode, image_format)

    def apple_pass(self, token: str) -> bytes | None:
        """The signed `.pkpass`; None without a code, or when Apple Wallet does not work."""
        found = self._find(token)
        facts = _facts(*found) if found is not None else None
        if facts is None or not self._works(self._apple):
            return None
        return self._apple.make(facts)

    def wallet_problems(self) -> list[str]:
        """What is wrong with the wallet settings (empty when nothing is)."""
        return [wallet.problem for wallet in (self._apple, self._google) if wallet.problem]

    def wallets_configured(self) -> dict[str, bool]:
        """Which wallets are set up: {"Apple Wallet": …, "Google Wallet": …}."""
        return {"Apple Wallet": self._apple.configured, "Google Wallet": self._google.configured}

    def _find(self, token: str) -> tuple[CodePage, CampaignSpec] | None:
        with self._sessions() as db:
            page = self._code_pages.find(db, token)
        if page is None:
            return None
        campaign = self._campaigns.by_slug(page.campaign_slug)
        if campaign is None:  # the campaign was deleted since: nothing to show
            return None
        return page, campaign

    def _works(self, wallet: ApplePasses | GoogleWallet) -> bool:
        if wallet.available:
            return True
        problem = wallet.problem
        if problem and problem not in self._reported:  # once per process, not per shopper
            self._reported.add(problem)
            log.error("wallet_misconfigured", extra={"problem": problem})
        return False


def _facts(page: CodePage, campaign: CampaignSpec) -> PassFacts | None:
    if page.code is None or page.used_on is not None:  # no wallet pass for a used code
        return None
    brand = palette_for(str(campaign.option("brand_colour", "") or ""), "").brand
    return PassFacts(
        serial=page.token,
        campaign_slug=campaign.slug,
        campaign_name=campaign.name,
        code=page.code,
        expires_at=page.expires_at,
        barcode=campaign.barcode,
        brand_colour=brand,
    )
