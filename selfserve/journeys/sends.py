"""What the journeys (competitions, birthdays) share: texts sent once per key, and identifiers.

Journeys text customers on their own, not in reply to a text: a birthday coupon, a winner
notice. Every such text goes through `send_journey_text`, which hands it to the outbox under a
dedupe key (selfserve/outbox.py): a re-run, a retry or a second process sends nothing new, and
a text Twilio could not take right now is retried by the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignSpec, render_template
from selfserve.models import OutboundMessage
from selfserve.sms import Outbox, Template
from selfserve.sms import outbox as outbox_states

SENT, ALREADY_SENT, QUEUED, OPTED_OUT, FAILED, UNCERTAIN = (
    "sent",
    "already_sent",
    "queued",
    "opted_out",
    "failed",
    "uncertain",
)


@dataclass(frozen=True)
class JourneySend:
    """What became of one journey text.

    `state`: sent (Twilio took it), already_sent (an earlier run used the key), queued (Twilio
    could not take it now; the worker retries), opted_out (not sent), failed (refused for
    good; `detail` says why), uncertain (it may have gone out; never sent again).
    """

    state: str
    detail: str = ""


def send_journey_text(
    outbox: Outbox,
    sessions: sessionmaker[Session],
    *,
    dedupe_key: str,
    to_e164: str,
    body: str,
    purpose: str,
    campaign_slug: str | None = None,
    media_url: str | None = None,
    channel: str = "sms",
    template: Template | None = None,
) -> JourneySend:
    """Send one text at most once per `dedupe_key`, trying Twilio at once in this thread.

    Opted-out numbers are never texted (the outbox checks before every send; Twilio's 21610
    records the opt-out). On WhatsApp, `template` goes once the 24-hour window has closed.
    """
    recorded = outbox.send(
        dedupe_key=dedupe_key,
        to_e164=to_e164,
        body=body,
        purpose=purpose,
        campaign_slug=campaign_slug,
        now=True,
        media_url=media_url,
        channel=channel,
        template=template,
    )
    if not recorded.fresh:
        return JourneySend(ALREADY_SENT)
    with sessions() as db:
        row = db.execute(
            select(
                OutboundMessage.status, OutboundMessage.error_code, OutboundMessage.detail
            ).where(OutboundMessage.id == recorded.outbound_id)
        ).one()
    detail = row.detail or ""
    if row.status == outbox_states.WAITING:
        return JourneySend(QUEUED, detail)
    if row.status == outbox_states.SKIPPED or row.error_code == 21610:
        return JourneySend(OPTED_OUT, "opted out")
    if row.status == outbox_states.FAILED:
        return JourneySend(FAILED, detail)
    if row.status in (outbox_states.UNCERTAIN, outbox_states.CLAIMED):
        return JourneySend(UNCERTAIN, detail)
    return JourneySend(SENT)


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
