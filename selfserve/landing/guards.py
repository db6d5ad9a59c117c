"""What keeps abuse off the landing pages, beside the one-time-code throttles.

Numbers that must not get a text (premium rate…), the bot challenge on the number form,
screen-only campaigns' rotating QR tokens, and the record of each refusal: a warning in the
log, /metrics for blocked ranges, and a count per campaign and day for the console.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import phonenumbers
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignSpec
from selfserve.customers import mask_phone
from selfserve.errors import ChallengeFailed, InvalidPhoneNumber, ScreenScanNeeded
from selfserve.landing.challenge import BotChallenge
from selfserve.landing.screens import ScreenTokens
from selfserve.models import utcnow
from selfserve.ops import CHALLENGE_FAILED, RANGE_BLOCKED, count_abuse, observe_pumping_block

log = logging.getLogger(__name__)

# Numbers that cannot, or must not, receive our texts. Premium-rate and shared-cost numbers
# are what SMS-pumping fraud sends to; a landline or pager cannot read the code anyway.
NOT_TEXTABLE = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.UAN,
        phonenumbers.PhoneNumberType.VOICEMAIL,
        phonenumbers.PhoneNumberType.PAGER,
    }
)


def check_textable(phone_e164: str) -> None:
    """Raise InvalidPhoneNumber for numbers that cannot or must not get a text (premium…)."""
    number_type = phonenumbers.number_type(phonenumbers.parse(phone_e164, None))
    if number_type in NOT_TEXTABLE:
        raise InvalidPhoneNumber("not a mobile number")


def fresh_scan_seconds(campaign: CampaignSpec) -> int:
    """The campaign's screen QR rotation period; 0 when it is an ordinary poster campaign."""
    return int(campaign.option("fresh_scan_seconds", 0) or 0)


class LandingGuards:
    """The bot challenge (None: off), the screens' tokens, and counting refusals."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        challenge: BotChallenge | None,
        screens: ScreenTokens,
        public_base_url: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self.challenge = challenge
        self.screens = screens
        self._base = public_base_url.rstrip("/")
        self._clock = clock

    def new_challenge(self) -> str:
        """A fresh challenge's JSON for the number form; "" when the challenge is off."""
        return self.challenge.new() if self.challenge is not None else ""

    def check_challenge(self, campaign_slug: str, payload: str) -> None:
        """Raise ChallengeFailed (and count it) unless the form carries a fresh solution."""
        if self.challenge is None or self.challenge.accept(payload):
            return
        log.info("landing_challenge_failed", extra={"campaign": campaign_slug})
        self._count(campaign_slug, CHALLENGE_FAILED)
        raise ChallengeFailed("no valid bot challenge solution")

    def check_scan(self, slug: str, seconds: int, token: str) -> None:
        """Raise ScreenScanNeeded for a screen-only campaign without a fresh screen token."""
        if seconds and not self.screens.token_ok(slug, token, seconds):
            raise ScreenScanNeeded(slug)

    def screen_url(self, campaign: CampaignSpec, rotate: bool = False) -> str:
        """The secret URL of the campaign's screen page (a new one with `rotate`)."""
        if not fresh_scan_seconds(campaign):
            raise ScreenScanNeeded(campaign.slug)
        slug = campaign.slug
        key = self.screens.rotate(slug) if rotate else self.screens.key_for(slug)
        return f"{self._base}/screen/{slug}?key={key}"

    def scan_url(self, slug: str, seconds: int) -> str:
        """What the screen's QR encodes now: the landing page with this window's token."""
        return f"{self._base}/q/{slug}?t={self.screens.token(slug, seconds)}"

    def range_blocked(self, campaign_slug: str, phone_e164: str) -> None:
        """A number range was just blocked for SMS pumping: warn once, count it."""
        log.warning(
            "sms_pumping_range_blocked",
            extra={"campaign": campaign_slug, "phone": mask_phone(phone_e164)},
        )
        observe_pumping_block()
        self._count(campaign_slug, RANGE_BLOCKED)

    def close(self) -> None:
        """Release the challenge store's connections."""
        if self.challenge is not None:
            self.challenge.close()

    def _count(self, campaign_slug: str, kind: str) -> None:
        with self._sessions.begin() as db:
            count_abuse(db, campaign_slug, kind, self._clock().date())
