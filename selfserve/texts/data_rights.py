"""The customer's own words: MYCODES (their codes), FORGET ME then FORGET (erasure).

FORGET ME is answered with what FORGET will do; a FORGET from that number within 10 minutes
erases the person (selfserve.customers.erase_person) inside the text's own transaction, so
its message-log row is rewritten with the rest. MYCODES lists the number's unexpired codes
not yet redeemed, newest first, as many as fit two GSM-7 segments.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from selfserve.campaigns import CampaignBook
from selfserve.coupons import redeemed_on
from selfserve.customers import erase_person, erasure_key, identify, language_of, mask_phone
from selfserve.models import ErasureRequest, IssuedCoupon, ReferralCode, utcnow
from selfserve.ops import insert_ignoring_duplicates
from selfserve.sms import FORGET_CONFIRMATION, FORGET_REQUEST, MY_CODES_WORD, encoding_of
from selfserve.texts.outcomes import Outcome, Wording

log = logging.getLogger(__name__)

FORGET_WINDOW = timedelta(minutes=10)
MAX_SEGMENTS = 2


@dataclass(frozen=True)
class HeldCode:
    """One code a person holds, for the MYCODES list."""

    campaign_name: str
    code: str
    expires_at: datetime | None
    issued_at: datetime
    used_on: datetime | None = None  # redeemed at a till (the redemption sync saw it)


class DataRights:
    """Answers MYCODES, FORGET ME and its FORGET for one number."""

    def __init__(
        self,
        campaigns: CampaignBook,
        wording: Wording,
        *,
        identity_secret: str,
        brand: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._campaigns = campaigns
        self._wording = wording  # our words in the language the number last used
        self._secret = identity_secret
        self._brand = brand
        self._clock = clock

    def answer(self, db: Session, phone: str, normalised: str, message_sid: str) -> Outcome | None:
        """The outcome of FORGET ME or of its confirming FORGET; None for any other text."""
        if normalised == FORGET_REQUEST:
            return self._ask_to_confirm(db, phone)
        if normalised == FORGET_CONFIRMATION:
            return self._erase_if_asked(db, phone, message_sid)
        return None

    def _ask_to_confirm(self, db: Session, phone: str) -> Outcome:
        now = self._clock()
        db.execute(delete(ErasureRequest).where(ErasureRequest.phone_e164 == phone))
        insert_ignoring_duplicates(
            db, ErasureRequest.__table__, {"phone_e164": phone, "asked_at": now}
        )
        who = identify(db, phone, self._secret)
        text = self._say(
            db,
            phone,
            "Reply FORGET to erase your data from {brand}. Your codes will stop working here.",
            brand=self._brand,
        )
        return Outcome(text, "forget_requested", "FORGET", customer_id=who.customer_id)

    def _erase_if_asked(self, db: Session, phone: str, message_sid: str) -> Outcome | None:
        asked_at = db.scalar(
            select(ErasureRequest.asked_at).where(ErasureRequest.phone_e164 == phone)
        )
        now = self._clock()
        if asked_at is None or _utc(asked_at) + FORGET_WINDOW < now:
            return None  # no FORGET ME in the last 10 minutes: an ordinary word
        erased = self._say(
            db,
            phone,
            "Your data has been erased from {brand}. You won't get texts from us again.",
            brand=self._brand,
        )  # worded before the erasure forgets the number's language
        result = erase_person(
            db, phone, self._secret, method="sms", now=now, message_sids=(message_sid,)
        )
        log.info("person_erased", extra={"phone": mask_phone(phone), "method": "sms"})
        key = erasure_key(phone, self._secret)
        return Outcome(
            erased, "erased", "FORGET", customer_id=key, detail=_tables(result.row_counts)
        )

    def my_codes(self, db: Session, phone: str) -> Outcome:
        """MYCODES: the unexpired codes not yet redeemed, newest first, as many as fit two
        segments; when every one left was redeemed, the newest is named as used (without
        its code: it would not work at a till again)."""
        who = identify(db, phone, self._secret)
        every = self._held_codes(db, who.customer_id)
        held = [code for code in every if code.used_on is None]
        if not held and every:
            used = every[0]
            assert used.used_on is not None  # noqa: S101 - every code left is used
            text = self._say(db, phone, "Your codes:") + f"\n{used.campaign_name}: "
            text += self._say(
                db, phone, "used on {date}", date=f"{used.used_on.day} {used.used_on:%b}"
            )
            return Outcome(text, "my_codes", MY_CODES_WORD, customer_id=who.customer_id)
        if not held:
            keywords = self._campaigns.active_keywords()
            text = self._say(db, phone, "You have no codes yet.")
            if keywords:
                text += " " + self._say(
                    db, phone, "Text {keyword} to get one.", keyword=keywords[0]
                )
            return Outcome(text, "my_codes_none", MY_CODES_WORD, customer_id=who.customer_id)
        text = self._say(db, phone, "Your codes:")
        until = self._say(db, phone, "until {date}", date="{date}")
        plain = encoding_of(text).name  # lines may not turn a GSM-7 text into UCS-2
        for code in held:
            line = f"\n{code.campaign_name}: {code.code}"
            if code.expires_at is not None:
                line += " (" + until.format(date=f"{code.expires_at:%d %b %Y}") + ")"
            encoding = encoding_of(text + line)
            if encoding.name != plain or encoding.segments > MAX_SEGMENTS:
                break
            text += line
        return Outcome(text, "my_codes", MY_CODES_WORD, customer_id=who.customer_id)

    def _say(self, db: Session, phone: str, message: str, **values: str) -> str:
        """Our own `message` in the language the number last used (else the default)."""
        language = language_of(db, phone) or self._wording.default_language
        return self._wording.translated(language, message, **values)

    def _held_codes(self, db: Session, customer_id: str) -> list[HeldCode]:
        now = self._clock()
        coupons = db.execute(
            select(
                IssuedCoupon.campaign_slug,
                IssuedCoupon.code,
                IssuedCoupon.expires_at,
                IssuedCoupon.issued_at,
                IssuedCoupon.id,
            ).where(IssuedCoupon.customer_id == customer_id)
        ).all()
        used = redeemed_on(db, [row.id for row in coupons])
        referrals = db.execute(
            select(
                ReferralCode.campaign_slug,
                ReferralCode.code,
                ReferralCode.expires_at,
                ReferralCode.issued_at,
            ).where(ReferralCode.advocate_customer_id == customer_id)
        ).all()
        held = [
            HeldCode(
                self._name_of(row.campaign_slug),
                row.code,
                row.expires_at,
                row.issued_at,
                used.get(row.id) if index < len(coupons) else None,
            )
            for index, row in enumerate([*coupons, *referrals])
            if row.expires_at is None or _utc(row.expires_at) > now
        ]
        return sorted(held, key=lambda code: _utc(code.issued_at), reverse=True)

    def _name_of(self, campaign_slug: str) -> str:
        campaign = self._campaigns.by_slug(campaign_slug)
        return campaign.name if campaign is not None else campaign_slug


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _tables(row_counts: dict[str, int]) -> str:
    return ", ".join(f"{table}={count}" for table, count in row_counts.items() if count)
