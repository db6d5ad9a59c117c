"""What the journeys (competitions, birthdays) share: texts sent once per key, and identifiers.

Journeys text customers on their own, not in reply to a text: a birthday coupon, a winner
notice. Every such text goes through `send_journey_text`, which claims a dedupe key before
sending, so a re-run, a retry or a second process sends nothing new.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignSpec, render_template
from selfserve.database import insert_ignoring_duplicates
from selfserve.errors import SmsError
from selfserve.models import JourneyText, utcnow
from selfserve.phones import mask_phone
from selfserve.sms import SmsSender, send_text

log = logging.getLogger(__name__)

# States of a journey text; a failed or opted-out one may be tried again by a later run.
SENDING, SENT, OPTED_OUT, FAILED = "sending", "sent", "opted_out", "failed"
RETRYABLE = (FAILED, OPTED_OUT)


@dataclass(frozen=True)
class JourneySend:
    """What became of one journey text.

    `state`: sent (now), already_sent (by an earlier run), opted_out (not sent), failed (the
    provider refused; `detail` says why), in_progress (another run holds the key right now, or
    crashed mid-send: it is not sent again automatically, so a customer is never texted twice).
    """

    state: str
    detail: str = ""


def send_journey_text(
    sessions: sessionmaker[Session],
    sender: SmsSender,
    *,
    dedupe_key: str,
    to_e164: str,
    body: str,
    purpose: str,
    campaign_slug: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> JourneySend:
    """Send one text at most once per `dedupe_key` (through selfserve.sms.send_text).

    The key is claimed in its own transaction before the provider is called and marked after,
    so a crash in between leaves it `sending` (reported as in_progress, never re-sent).
    Opted-out numbers are not texted (send_text checks; Twilio's 21610 records the opt-out).
    """
    with sessions.begin() as db:
        claimed = insert_ignoring_duplicates(
            db,
            JourneyText.__table__,
            {
                "dedupe_key": dedupe_key,
                "purpose": purpose,
                "campaign_slug": campaign_slug,
                "state": SENDING,
                "created_at": clock(),
                "updated_at": clock(),
            },
        )
        if not claimed:
            claimed = (
                db.execute(
                    update(JourneyText)
                    .where(JourneyText.dedupe_key == dedupe_key, JourneyText.state.in_(RETRYABLE))
                    .values(state=SENDING, updated_at=clock())
                    .returning(JourneyText.dedupe_key)
                ).first()
                is not None
            )
        if not claimed:
            state = db.scalar(select(JourneyText.state).where(JourneyText.dedupe_key == dedupe_key))
            return JourneySend("already_sent" if state == SENT else "in_progress")
    failure: SmsError | None = None
    with sessions.begin() as db:
        # Write first: on SQLite a transaction that reads and then writes fails when another
        # writer got in between; one that starts by writing waits its turn instead.
        db.execute(
            update(JourneyText)
            .where(JourneyText.dedupe_key == dedupe_key)
            .values(updated_at=clock())
        )
        try:
            record = send_text(db, sender, to_e164, body, purpose, campaign_slug)
        except SmsError as error:  # recorded below; the outbox row keeps the failure too
            record, failure = None, error
        if failure is not None:
            state, detail = FAILED, failure.reason
        elif record is None:
            state, detail = OPTED_OUT, "opted out"
        else:
            state, detail = SENT, ""
        db.execute(
            update(JourneyText)
            .where(JourneyText.dedupe_key == dedupe_key)
            .values(
                state=state,
                detail=detail or None,
                outbound_message_id=record.id if record is not None else None,
                updated_at=clock(),
            )
        )
    if failure is not None:
        log.warning(
            "journey_text_failed",
            extra={"purpose": purpose, "to": mask_phone(to_e164), "reason": failure.reason},
        )
    return JourneySend(state, detail)


def identifier_on(campaign: CampaignSpec, customer_id: str, keyword: str, day: date) -> str:
    """The campaign's Talon.One identifier for a customer, with {year}/{month}/{date} of `day`.

    Birthdays use the birthday being celebrated, not the moment the job happens to run.
    """
    return render_template(
        campaign.identifier, identifier_values(campaign, customer_id, keyword, day)
    )


def identifier_values(
    campaign: CampaignSpec, customer_id: str, keyword: str, day: date
) -> dict[str, Any]:
    """The placeholders an identifier template may use."""
    return {
        "customer_id": customer_id,
        "campaign_id": campaign.campaign_id,
        "application_id": campaign.application_id,
        "external_campaign_id": campaign.external_campaign_id,
        "slug": campaign.slug,
        "keyword": keyword or (campaign.keywords[0] if campaign.keywords else ""),
        "year": f"{day:%Y}",
        "month": f"{day:%Y-%m}",
        "date": f"{day:%Y-%m-%d}",
    }
