"""One customer's birthday text: may they have it now, their coupon, the text, the record.

Works on plain values (slug, customer id, ISO date) so the task queue runs it as a job. The
Talon.One identifier and the text's dedupe key both carry the year: calling it again, or a
second process calling it, issues no second coupon and sends no second text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook, CampaignSpec, whatsapp_template
from selfserve.coupons import BIRTHDAY, Coupons, IssuedCode, Touch
from selfserve.customers import marketing_channel, mask_phone, next_send_time, recipient_zone
from selfserve.errors import TalonError, TalonRateLimited, TalonRejected
from selfserve.journeys import sends as journeys
from selfserve.journeys.birthday_records import (
    ALREADY_SENT,
    FAILED,
    SENT,
    SKIPPED,
    WAITING,
    BirthdayResult,
    is_birthday,
    sent_this_year,
    skip_reasons,
    write_unsent,
)
from selfserve.journeys.loyalty import award_campaign_points
from selfserve.journeys.sends import identifier_on, send_journey_text
from selfserve.models import Customer, utcnow
from selfserve.ops import QuietHours
from selfserve.sms import Outbox
from selfserve.talon import TalonClient, log_talon_error

# What became of a text handed to the outbox, as a birthday result (state, detail). Handed
# to the outbox counts as sent: the outbox retries what Twilio could not take.
_SENT_AS = {
    journeys.SENT: (SENT, ""),
    journeys.QUEUED: (SENT, "Twilio busy: the worker retries the text"),
    journeys.UNCERTAIN: (SENT, "may have gone out; never sent twice"),
    journeys.ALREADY_SENT: (ALREADY_SENT, ""),
    journeys.OPTED_OUT: (SKIPPED, "opted out"),
}


@dataclass(frozen=True)
class _Recipient:
    phone_e164: str
    first_name: str
    masked: str


class BirthdayTexts:
    """Sends one customer's birthday coupon, at most once a year."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        campaigns: CampaignBook,
        coupons: Coupons,
        talon: TalonClient,
        outbox: Outbox,
        quiet_hours: QuietHours | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._campaigns = campaigns
        self._coupons = coupons  # the worker's: the full Talon.One timeout
        self._talon = talon  # award_points
        self._outbox = outbox
        self._quiet_hours = quiet_hours
        self._clock = clock

    def send(self, campaign_slug: str, customer_id: str, day_iso: str) -> BirthdayResult:
        """Send one customer's birthday coupon for the day `day_iso` (YYYY-MM-DD), at most once.

        Plain values in and out, so a queued job can call it; safe to call again.
        """
        day = date.fromisoformat(day_iso)
        campaign = self._campaigns.by_slug(campaign_slug)
        if campaign is None or campaign.action != "birthday":
            return BirthdayResult(campaign_slug, customer_id, "", SKIPPED, "no such campaign")
        recipient = self._recipient(campaign_slug, customer_id, day)
        if isinstance(recipient, BirthdayResult):
            return recipient
        now = self._clock()
        send_after = next_send_time(recipient.phone_e164, now, self._quiet_hours)
        if send_after > now:
            return BirthdayResult(
                campaign_slug,
                customer_id,
                recipient.masked,
                WAITING,
                self.quiet_until(recipient.phone_e164),
                send_after=send_after,
            )
        identifier = identifier_on(campaign, customer_id, "", day)
        try:
            issued = self._coupons.issue(campaign, customer_id, identifier, touch=Touch(BIRTHDAY))
        except TalonError as error:
            return self._failed(campaign_slug, customer_id, day, identifier, recipient, error)
        return self._text(campaign, customer_id, day, identifier, recipient, issued)

    def _recipient(
        self, campaign_slug: str, customer_id: str, day: date
    ) -> _Recipient | BirthdayResult:
        """The customer to text, or why not (not in the directory, not today, a skip reason,
        already sent this year)."""
        with self._sessions() as db:
            customer = db.execute(
                select(Customer.phone_e164, Customer.first_name, Customer.birthday).where(
                    Customer.customer_id == customer_id
                )
            ).first()
            if customer is None or customer.birthday is None:
                return BirthdayResult(campaign_slug, customer_id, "", SKIPPED, "not in directory")
            masked = mask_phone(customer.phone_e164)
            if not is_birthday(customer.birthday, day):
                return BirthdayResult(campaign_slug, customer_id, masked, SKIPPED, "not today")
            reason = skip_reasons(db, [customer.phone_e164]).get(customer.phone_e164)
            if reason:
                return BirthdayResult(campaign_slug, customer_id, masked, SKIPPED, reason)
            if customer_id in sent_this_year(db, campaign_slug, day.year):
                return BirthdayResult(campaign_slug, customer_id, masked, ALREADY_SENT)
        return _Recipient(customer.phone_e164, customer.first_name or "", masked)

    def _failed(
        self,
        campaign_slug: str,
        customer_id: str,
        day: date,
        identifier: str,
        recipient: _Recipient,
        error: TalonError,
    ) -> BirthdayResult:
        rejected = isinstance(error, TalonRejected)
        if rejected:
            log_talon_error(campaign_slug, error)
        self._record(campaign_slug, customer_id, day, identifier, FAILED, str(error))
        return BirthdayResult(
            campaign_slug,
            customer_id,
            recipient.masked,
            FAILED,
            str(error),
            configuration_error=rejected,
            transient=not rejected,
            retry_after_seconds=(
                error.retry_after_seconds if isinstance(error, TalonRateLimited) else None
            ),
        )

    def _text(
        self,
        campaign: CampaignSpec,
        customer_id: str,
        day: date,
        identifier: str,
        recipient: _Recipient,
        issued: IssuedCode,
    ) -> BirthdayResult:
        body = self._coupons.code_pages.reply(
            campaign,
            identifier,
            issued.code,
            issued.expires_at,
            issued.starts_at,
            first_name=recipient.first_name,
        )
        with self._sessions() as db:  # consented on WhatsApp: it goes there
            channel = marketing_channel(db, recipient.phone_e164) or "sms"
        values = {"first_name": recipient.first_name, "code": issued.code}
        sent = send_journey_text(
            self._outbox,
            self._sessions,
            dedupe_key=f"birthday:{campaign.slug}:{customer_id}:{day.year}",
            to_e164=recipient.phone_e164,
            body=body,
            purpose="birthday",
            campaign_slug=campaign.slug,
            media_url=self._coupons.code_pages.media_url(campaign, identifier),
            channel=channel,
            template=whatsapp_template(campaign, values, channel),
        )
        state, detail = _SENT_AS.get(sent.state, (FAILED, sent.detail))
        if state in (SENT, FAILED):
            self._record(campaign.slug, customer_id, day, identifier, state, detail or None)
        if state == SENT:
            award_campaign_points(
                self._sessions,
                self._talon,
                self._campaigns,
                campaign.slug,
                customer_id,
                self._clock,
            )
        return BirthdayResult(campaign.slug, customer_id, recipient.masked, state, detail)

    def quiet_until(self, phone_e164: str) -> str:
        """ "quiet hours until 08:00 local" when the number is in its quiet hours now, else ""."""
        now = self._clock()
        send_after = next_send_time(phone_e164, now, self._quiet_hours)
        if send_after <= now:
            return ""
        return f"quiet hours until {send_after.astimezone(recipient_zone(phone_e164)):%H:%M} local"

    def _record(
        self,
        campaign_slug: str,
        customer_id: str,
        day: date,
        identifier: str,
        state: str,
        detail: str | None,
    ) -> None:
        """Write what became of this year's text (a sent one is never overwritten)."""
        with self._sessions.begin() as db:
            write_unsent(
                db,
                campaign_slug,
                customer_id,
                day,
                {
                    "sent_for": day,
                    "state": state,
                    "identifier": identifier,
                    "detail": detail,
                    "updated_at": self._clock(),
                    "next_attempt_at": None,
                },
            )
