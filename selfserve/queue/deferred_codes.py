"""The deferred-code worker: get each owed code from Talon.One, then text it exactly once.

How codes come to be owed, and the rules that make retries safe, are in
`selfserve.coupons.deferrals`. This is the queue's side: claim the row by its attempts
counter and a lease, claim the coupon through `Coupons` (the worker's full-timeout client),
word the reply, and hand one text to the outbox.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns import CampaignBook, CampaignSpec, whatsapp_template
from selfserve.coupons import (
    FAILED,
    LANDING,
    OPTED_OUT,
    OWED_COUPON,
    OWED_REFERRAL_CODE,
    OWED_REFERRAL_COUPON,
    PENDING,
    SMS_QUEUED,
    TEXT,
    Coupons,
    IssuedCode,
    Touch,
    set_inbound_outcome,
)
from selfserve.customers import is_opted_out, is_whatsapp_opted_out, mask_phone
from selfserve.errors import TalonRateLimited, TalonRejected, TalonUnavailable
from selfserve.journeys import Awards, entry_reply, give_place_back
from selfserve.models import DeferredCode, InboundMessage, utcnow
from selfserve.queue.owed_referrals import OwedReferrals, OwedText
from selfserve.sms import DEFAULT_RETRIES, Outbox, Retry, RetryPolicy, Template

log = logging.getLogger(__name__)


# The campaign actions each kind of owed code may belong to.
_ACTIONS = {
    OWED_COUPON: ("coupon", "competition"),
    OWED_REFERRAL_CODE: ("referral",),
    OWED_REFERRAL_COUPON: ("coupon",),
}


@dataclass(frozen=True)
class _Claimed:
    id: int
    campaign_slug: str
    identifier: str
    customer_id: str
    phone_e164: str
    keyword: str
    first_name: str
    kind: str = OWED_COUPON
    referral_code_id: int | None = None
    message_sid: str = ""
    channel: str = "sms"


class DeferredCodes:
    """The worker's side: get each owed code from Talon.One, then text it exactly once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        campaigns: CampaignBook,
        coupons: Coupons,
        outbox: Outbox,
        awards: Awards,
        referrals: OwedReferrals,
        *,
        default_region: str,
        retries: RetryPolicy = DEFAULT_RETRIES,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._campaigns = campaigns
        self._coupons = coupons  # with the worker's full Talon.One timeout
        self._outbox = outbox
        self._awards = awards
        self._referrals = referrals  # owed referral codes and referred friends' coupons
        self._region = default_region
        self._retries = retries
        self._clock = clock

    def deliver(self, deferred_id: int, attempt: int) -> Retry | None:
        """One attempt at an owed code; a Retry says when to try again (same job, new attempt).

        Raises nothing for Talon.One trouble: transient errors become a Retry, configuration
        errors end the row as failed.
        """
        claimed = self._claim(deferred_id, attempt)
        if claimed is None:
            return None
        attempt += 1
        campaign = self._campaigns.by_slug(claimed.campaign_slug)
        if campaign is None or campaign.action not in _ACTIONS.get(claimed.kind, ()):
            self._end(claimed, attempt, FAILED, "failed", "campaign no longer exists")
            log.error("deferred_code_failed", extra={"deferred_id": deferred_id})
            return None
        try:
            owed = self._fetch(campaign, claimed)
        except TalonRejected as error:
            self._fail(claimed, attempt, error)
            return None
        except TalonRateLimited as error:
            if error.own_budget:  # not a failure: wait for the window to have room
                wait = (error.retry_after_seconds or 1.0) + random.uniform(0.05, 0.5)
                return self._release(claimed, attempt, wait, str(error), failed=False)
            return self._release(claimed, attempt, None, str(error), error.retry_after_seconds)
        except TalonUnavailable as error:
            return self._release(claimed, attempt, None, str(error), error.retry_after_seconds)
        return self._hand_to_outbox(claimed, attempt, owed)

    def _fetch(self, campaign: CampaignSpec, claimed: _Claimed) -> OwedText:
        """Ask Talon.One for what is owed (raises TalonError) and word the text."""
        if claimed.kind == OWED_REFERRAL_CODE:
            return self._referrals.advocate_code(
                campaign,
                claimed.customer_id,
                claimed.phone_e164,
                claimed.first_name,
                claimed.keyword,
            )
        if claimed.kind == OWED_REFERRAL_COUPON:
            return self._referrals.friend_coupon(
                campaign,
                claimed.customer_id,
                claimed.identifier,
                claimed.referral_code_id,
                first_name=claimed.first_name,
                keyword=claimed.keyword,
            )
        issued = self._coupons.issue(
            campaign, claimed.customer_id, claimed.identifier, touch=self._touch_of(claimed)
        )
        return OwedText(
            self._reply(campaign, claimed, issued),
            self._coupons.code_pages.media_url(campaign, claimed.identifier),
            code=issued.code,
        )

    def _touch_of(self, claimed: _Claimed) -> Touch:
        """Where the owed code's customer came from: the message-log row that owed it."""
        asked = select(InboundMessage.channel, InboundMessage.source)
        with self._sessions() as db:
            logged = db.execute(asked.where(InboundMessage.message_sid == claimed.message_sid))
            channel, source = logged.first() or ("sms", "")
        if channel == "web":
            return Touch(LANDING, source=source or "")
        return Touch(TEXT, claimed.keyword, source or "")

    def _reply(self, campaign: CampaignSpec, claimed: _Claimed, issued: IssuedCode) -> str:
        if campaign.action == "competition":  # also_coupon: the entry's reply, with the code
            with self._sessions() as db:
                return entry_reply(
                    db, campaign, claimed.customer_id, issued, claimed.first_name, self._region
                )
        return self._coupons.code_pages.reply(
            campaign,
            claimed.identifier,
            issued.code,
            issued.expires_at,
            issued.starts_at,
            first_name=claimed.first_name,
            keyword=claimed.keyword,
        )

    def _fail(self, claimed: _Claimed, attempt: int, error: TalonRejected) -> None:
        detail = f"Talon.One {error.status}: {error.error} (RequestUUID {error.request_uuid})"
        # Logged before the row says failed: whoever sees the row failed finds the log line.
        log.error(
            "deferred_code_failed",
            extra={
                "deferred_id": claimed.id,
                "campaign": claimed.campaign_slug,
                "customer_id": claimed.customer_id,
                "status": error.status,
                "error": error.error,
                "request_uuid": error.request_uuid,
            },
        )
        self._end(claimed, attempt, FAILED, "failed", detail)

    def overdue(self) -> list[tuple[int, int]]:
        """Owed codes whose job was lost or whose worker died: (id, attempt) to enqueue again."""
        now = self._clock()
        with self._sessions.begin() as db:
            rows = db.execute(
                update(DeferredCode)
                .where(
                    DeferredCode.state == PENDING,
                    or_(
                        DeferredCode.lease_until < now,
                        (DeferredCode.lease_until.is_(None))
                        & (DeferredCode.next_attempt_at < now - self._retries.lease),
                    ),
                )
                .values(lease_until=None, next_attempt_at=now)
                .returning(DeferredCode.id, DeferredCode.attempts)
            ).all()
        return [(row.id, row.attempts) for row in rows]

    def _claim(self, deferred_id: int, attempt: int) -> _Claimed | None:
        now = self._clock()
        with self._sessions.begin() as db:
            row = db.execute(
                update(DeferredCode)
                .where(
                    DeferredCode.id == deferred_id,
                    DeferredCode.state == PENDING,
                    DeferredCode.attempts == attempt,
                    or_(DeferredCode.lease_until.is_(None), DeferredCode.lease_until < now),
                )
                .values(attempts=attempt + 1, lease_until=now + self._retries.lease)
                .returning(
                    DeferredCode.id,
                    DeferredCode.campaign_slug,
                    DeferredCode.identifier,
                    DeferredCode.customer_id,
                    DeferredCode.phone_e164,
                    DeferredCode.keyword,
                    DeferredCode.first_name,
                    DeferredCode.kind,
                    DeferredCode.referral_code_id,
                    DeferredCode.message_sid,
                    DeferredCode.channel,
                )
            ).first()
            if row is None:
                return None
            claimed = _Claimed(
                row.id,
                row.campaign_slug,
                row.identifier,
                row.customer_id,
                row.phone_e164,
                row.keyword,
                row.first_name or "",
                row.kind,
                row.referral_code_id,
                row.message_sid,
                row.channel,
            )
            if _stopped(db, claimed.phone_e164, claimed.channel):
                self._end_in(db, claimed, attempt + 1, OPTED_OUT, "opted_out", None)
                log.info(
                    "deferred_code_opted_out",
                    extra={"deferred_id": deferred_id, "to": mask_phone(claimed.phone_e164)},
                )
                return None
        return claimed

    def _release(
        self,
        claimed: _Claimed,
        attempt: int,
        wait_seconds: float | None,
        reason: str,
        retry_after_seconds: float | None = None,
        *,
        failed: bool = True,
    ) -> Retry | None:
        with self._sessions.begin() as db:
            failures = db.scalar(
                update(DeferredCode)
                .where(
                    DeferredCode.id == claimed.id,
                    DeferredCode.state == PENDING,
                    DeferredCode.attempts == attempt,
                )
                .values(failures=DeferredCode.failures + (1 if failed else 0), detail=reason)
                .returning(DeferredCode.failures)
            )
            if failures is None:  # settled inline meanwhile, or reclaimed after our lease
                return None
            if wait_seconds is None:
                wait_seconds = self._retries.backoff(failures)
                if retry_after_seconds is not None:  # Talon.One said when: honour it
                    wait_seconds = max(retry_after_seconds, 0.1)
            db.execute(
                update(DeferredCode)
                .where(DeferredCode.id == claimed.id, DeferredCode.attempts == attempt)
                .values(
                    lease_until=None,
                    next_attempt_at=self._clock() + timedelta(seconds=wait_seconds),
                )
            )
        if failed:
            log.warning(
                "deferred_code_retrying",
                extra={
                    "deferred_id": claimed.id,
                    "reason": reason,
                    "failures": failures,
                    "in_seconds": round(wait_seconds, 1),
                },
            )
        return Retry(attempt, wait_seconds)

    def _hand_to_outbox(self, claimed: _Claimed, attempt: int, owed: OwedText) -> None:
        now = self._clock()
        with self._sessions.begin() as db:
            if _stopped(db, claimed.phone_e164, claimed.channel):  # STOP meanwhile
                self._end_in(db, claimed, attempt, OPTED_OUT, "opted_out", None)
                return None
            still_ours = db.execute(
                update(DeferredCode)
                .where(
                    DeferredCode.id == claimed.id,
                    DeferredCode.state == PENDING,
                    DeferredCode.attempts == attempt,
                )
                .values(state=SMS_QUEUED, finished_at=now, lease_until=None, detail=None)
                .returning(DeferredCode.id)
            ).first()
            if still_ours is None:  # answered inline while we were asking Talon.One
                return None
            recorded = self._outbox.record(
                db,
                dedupe_key=f"deferred-code:{claimed.id}",
                to_e164=claimed.phone_e164,
                body=owed.text,
                purpose="deferred_code",
                campaign_slug=claimed.campaign_slug,
                media_url=owed.media_url,
                channel=claimed.channel,
                template=self._template(claimed, owed),
            )
            db.execute(
                update(DeferredCode)
                .where(DeferredCode.id == claimed.id)
                .values(outbound_id=recorded.outbound_id)
            )
            set_inbound_outcome(
                db, claimed.campaign_slug, claimed.customer_id, "code_sent_by_sms", None
            )
        log.info(
            "deferred_code_issued",
            extra={"deferred_id": claimed.id, "campaign": claimed.campaign_slug},
        )
        if recorded.fresh:  # sent from this job straight away; retries go to the queue
            self._outbox.deliver_and_schedule(recorded.outbound_id, 0)
        if owed.then is not None:  # a referred friend's coupon: the advocate's thanks, once
            owed.then()
        # The customer took part when they texted; the points come with the code, once.
        self._awards.took_part("code_sent_by_sms", claimed.campaign_slug, claimed.customer_id)
        return None

    def _template(self, claimed: _Claimed, owed: OwedText) -> Template | None:
        """On WhatsApp, the campaign's template for when the 24-hour window has closed."""
        campaign = self._campaigns.by_slug(claimed.campaign_slug)
        if campaign is None:
            return None
        values = {"first_name": claimed.first_name, "code": owed.code, "keyword": claimed.keyword}
        return whatsapp_template(campaign, values, claimed.channel)

    def _end(
        self, claimed: _Claimed, attempt: int, state: str, outcome: str, detail: str | None
    ) -> None:
        with self._sessions.begin() as db:
            self._end_in(db, claimed, attempt, state, outcome, detail)

    def _end_in(
        self,
        db: Session,
        claimed: _Claimed,
        attempt: int,
        state: str,
        outcome: str,
        detail: str | None,
    ) -> None:
        ended = db.execute(
            update(DeferredCode)
            .where(DeferredCode.id == claimed.id, DeferredCode.attempts == attempt)
            .values(state=state, finished_at=self._clock(), lease_until=None, detail=detail)
            .returning(DeferredCode.id)
        ).first()
        if ended is None:
            return
        set_inbound_outcome(db, claimed.campaign_slug, claimed.customer_id, outcome, detail)
        if claimed.kind == OWED_REFERRAL_COUPON and claimed.referral_code_id is not None:
            # No coupon for this friend after all: their place on the code is free again.
            give_place_back(db, claimed.referral_code_id, claimed.customer_id)


def _stopped(db: Session, phone_e164: str, channel: str) -> bool:
    """Whether the person opted out of the channel their code goes back on."""
    if channel == "whatsapp":
        return is_whatsapp_opted_out(db, phone_e164)
    return is_opted_out(db, phone_e164)
