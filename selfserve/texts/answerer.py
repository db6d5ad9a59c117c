"""Answering one inbound text: claim it, decide what it asks for, finish it, reply.

The MessageSid is claimed under a UNIQUE constraint before any work, so a duplicate delivery
(Twilio retry, fallback URL, replay), even in another process, never makes a second
Talon.One call: it waits for the first delivery's reply and answers the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.coupons import (
    TEXT,
    ClaimResult,
    Coupons,
    Deferred,
    Issued,
    IssuedCode,
    Touch,
    settle_answered_inline,
)
from selfserve.customers import remember_language, touch_whatsapp
from selfserve.errors import TalonError, TalonRejected
from selfserve.journeys import Awards, Redemption, RedemptionRefused, Referrals
from selfserve.models import InboundMessage, utcnow
from selfserve.ops import insert_ignoring_duplicates, write_turn
from selfserve.talon import TalonClient, log_talon_error
from selfserve.texts.duplicates import wait_for_first_delivery
from selfserve.texts.facts import AnsweredBefore
from selfserve.texts.fast_path import (
    NewCustomer,
    ReturningCustomers,
    ReturningText,
    Sender,
    read_sender,
)
from selfserve.texts.matching import EXACT
from selfserve.texts.message_log import WARM_CODE
from selfserve.texts.outcomes import InboundText, Outcome, Pending, Reply, Wording
from selfserve.texts.routing import Router

log = logging.getLogger(__name__)

_messages = InboundMessage.__table__
# Built once, values bound per call: a Core UPDATE, not the ORM's bulk-update machinery.
_RECORD = (
    update(_messages)
    .where(_messages.c.message_sid == bindparam("sid"))
    .values(
        state="done",
        outcome=bindparam("new_outcome"),
        reply=bindparam("new_reply"),
        keyword=bindparam("new_keyword"),
        campaign_slug=bindparam("new_campaign_slug"),
        customer_id=bindparam("new_customer_id"),
        detail=bindparam("new_detail"),
        matched_by=bindparam("new_matched_by"),
        texted=bindparam("new_texted"),
    )
)
OWED_ACTIONS = ("coupon", "competition")  # a code these campaigns cannot give now is owed


class TextAnswerer:
    """Turns an inbound text into a reply, recording it in the message log."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        router: Router,
        wording: Wording,
        coupons: Coupons,
        talon: TalonClient,
        awards: Awards,
        fast_path: ReturningCustomers,
        referrals: Referrals,
        *,
        default_region: str,
        deadline_seconds: float = 8.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._router = router
        self._wording = wording
        self._coupons = coupons
        self._talon = talon  # loyalty balances
        self._awards = awards
        self._fast_path = fast_path
        self._referrals = referrals
        self._region = default_region
        self._deadline = deadline_seconds
        self._clock = clock
        self._write_turn = write_turn(sessions.kw["bind"])  # SQLite: one writer thread at a time

    def answer(self, text: InboundText) -> Reply:
        """Answer one inbound text; a duplicate MessageSid gets the first delivery's reply."""
        sender = read_sender(text.sender, self._region)
        known: ReturningText | NewCustomer | AnsweredBefore | None = None
        # WhatsApp texts take the slow path: their window and per-channel opt-out are
        # written and read there; the SMS path is unchanged.
        if sender.phone and sender.channel != "whatsapp":
            known = self._fast_path.find(
                text.message_sid,
                sender.phone,
                text.body,
                text.opt_out_type,
                self._coupons.identifier_for,
            )
            if isinstance(known, ReturningText):
                return self._answer_returning(text, sender.channel, sender.masked, known)
            if isinstance(known, AnsweredBefore):
                return Reply(known.reply, known.outcome, duplicate=True)
        claim = {
            "message_sid": text.message_sid,
            "received_at": self._clock(),
            "channel": sender.channel,
            "phone_masked": sender.masked,
            "to_number": _clean(text.to)[:32],
            "source": text.source,
            "state": "processing",
        }
        outcome = self._claim_and_decide(text, sender, claim, known)
        if outcome is None:  # outside the transaction, so the first delivery can finish
            return wait_for_first_delivery(self._sessions, text.message_sid, self._deadline)
        if isinstance(outcome, Pending):
            outcome = self._finish(outcome, text.message_sid, sender.channel, text.source or "")
        self._awards.took_part(outcome.outcome, outcome.campaign_slug, outcome.customer_id)
        log.info(
            "text_answered",
            extra={
                "message_sid": text.message_sid,
                "phone": sender.masked,
                "outcome": outcome.outcome,
                "campaign": outcome.campaign_slug,
                "customer_id": outcome.customer_id,
            },
        )
        return Reply(outcome.text, outcome.outcome, media_url=outcome.media_url)

    def _claim_and_decide(
        self,
        text: InboundText,
        sender: Sender,
        claim: dict[str, object],
        known: NewCustomer | AnsweredBefore | None,
    ) -> Outcome | Pending | None:
        """Claim the MessageSid and decide; None when another delivery claimed it first."""
        phone = sender.phone
        if isinstance(known, NewCustomer):
            # The fast path's read has decided already: the claim is one INSERT, its own
            # transaction, so SQLite's write lock is held for one statement, not for reads.
            if not self._fast_path.claim(claim):
                return None
            self._remember_language(known)
            return Pending(
                known.campaign,
                known.who,
                known.keyword,
                known.identifier,
                code_missing=True,
                first_code=known.first_code,
                nothing_owed=True,
                matched_by=EXACT,
            )
        with self._write_turn, self._sessions.begin() as db:
            if not insert_ignoring_duplicates(db, InboundMessage.__table__, claim):
                return None
            if not phone:
                outcome: Outcome | Pending = Outcome(None, "invalid_sender")
            else:
                if sender.channel == "whatsapp":  # their 24-hour window starts again
                    touch_whatsapp(db, phone, sender.address or phone, self._clock())
                outcome = self._router.decide(
                    db, phone, text.body, text.opt_out_type, text.message_sid, sender.channel
                )
            if isinstance(outcome, Outcome):
                self._record(db, text.message_sid, outcome)
            return outcome

    def _remember_language(self, known: NewCustomer) -> None:
        """A campaign with its own `language`: our later texts to the number use it too
        (the router does this for the texts it decides; only such campaigns cost a write)."""
        if known.campaign.language:
            with self._write_turn, self._sessions.begin() as db:
                remember_language(db, known.who.phone_e164, known.campaign.language, self._clock())

    def _finish(
        self, pending: Pending, message_sid: str, channel: str = "sms", source: str = ""
    ) -> Outcome:
        """The Talon.One part, outside the claim's transaction; then the message log.
        An owed code goes back on the channel it was asked on; `source`: the poster
        location (`src`) the text came from, kept with a fresh code."""
        outcome = self._complete(
            pending,
            message_sid,
            record=lambda db, done: self._record(db, message_sid, done),
            source=source,
        )
        if outcome.recorded:
            return outcome
        owed = None
        with self._write_turn, self._sessions.begin() as db:
            self._record(db, message_sid, outcome)
            if outcome.deferral is not None:
                owed = self._coupons.owe(db, replace(outcome.deferral, channel=channel))
        self._coupons.hand_to_worker(owed)
        return outcome

    def _answer_returning(
        self, text: InboundText, channel: str, masked: str, known: ReturningText
    ) -> Reply:
        """A code already issued: reply now, log the text in the next batch (fast_path.py)."""
        issued = IssuedCode(known.code.code, known.code.expires_at, known.code.starts_at, False)
        pending = Pending(known.campaign, known.who, known.keyword, known.identifier)
        # Still warm: the first ask unless another text asks at the same moment; the log
        # writer settles which one was (message_log.FirstAsks) in its next batch.
        outcome = self._wording.with_code(
            pending, issued, "code_issued" if known.code.warm else "code_resent"
        )
        self._fast_path.record(
            {
                "message_sid": text.message_sid,
                "received_at": self._clock(),
                "channel": channel,
                "phone_masked": masked,
                "customer_id": outcome.customer_id,
                "to_number": _clean(text.to)[:32],
                "keyword": outcome.keyword,
                "campaign_slug": outcome.campaign_slug,
                "source": text.source,
                "state": "done",
                "outcome": outcome.outcome,
                "reply": outcome.text,
                "detail": None,
                "matched_by": EXACT,  # the fast path reads the first word exactly only
                **({WARM_CODE: (known.campaign.slug, known.identifier)} if known.code.warm else {}),
            }
        )
        if known.campaign.option("award_points"):  # taking part earns points, once
            self._awards.took_part(outcome.outcome, outcome.campaign_slug, outcome.customer_id)
        log.debug(  # INFO would cost a third of this path; the message log and /metrics count it
            "text_answered",
            extra={
                "message_sid": text.message_sid,
                "phone": masked,
                "outcome": outcome.outcome,
                "campaign": outcome.campaign_slug,
                "customer_id": outcome.customer_id,
            },
        )
        return Reply(outcome.text, outcome.outcome, media_url=outcome.media_url)

    def _complete(
        self,
        pending: Pending,
        message_sid: str,
        record: Callable[[Session, Outcome], None],
        source: str = "",
    ) -> Outcome:
        """Do the Talon.One part, outside any database transaction.

        `record(db, outcome)` writes a fresh code's outcome in the same commit that stores
        the code (one write turn instead of two); the outcome then says `recorded`.
        """
        campaign = pending.campaign
        if campaign.action == "loyalty":
            return self._loyalty(pending)
        if campaign.action == "referral":
            return self._advocate_code(pending, message_sid)
        recorded: list[Outcome] = []

        def record_with_the_code(db: Session, code: IssuedCode) -> None:
            done = self._wording.with_code(pending, code, pending.outcome or "code_issued")
            record(db, done)
            recorded.append(replace(done, recorded=True))

        if pending.redemption is not None:
            result = self._redeem(pending, pending.redemption, record_with_the_code, recorded)
            if isinstance(result, Outcome):
                return result
        else:
            result = self._coupons.claim(
                campaign,
                pending.who.customer_id,
                pending.identifier,
                may_owe=self._coupons.can_owe and campaign.action in OWED_ACTIONS,
                known_missing=pending.code_missing,
                first_code=pending.first_code,
                nothing_owed=pending.nothing_owed,
                then=record_with_the_code,
                touch=Touch(TEXT, pending.keyword, source),
            )
        if recorded:
            return recorded[0]
        if isinstance(result, Issued):
            return self._wording.with_code(pending, result.code, pending.outcome or "code_issued")
        if isinstance(result, Deferred):
            deferred = self._wording.deferred(pending, message_sid, result.reason)
            # Owed already (a referred friend's coupon): the worker's job is on its way.
            return replace(deferred, deferral=None) if result.owed_already else deferred
        return self._wording.failed(pending, result.outcome, result.reason)

    def _redeem(
        self,
        pending: Pending,
        redemption: Redemption,
        then: Callable[[Session, IssuedCode], None],
        recorded: list[Outcome],
    ) -> ClaimResult | Outcome:
        """A friend's referral: their coupon, then the advocate's points and text; or the
        polite refusal when another friend took the code's last place meanwhile."""
        result = self._referrals.redeem(redemption, pending.who.customer_id, then=then)
        if isinstance(result, RedemptionRefused):
            return Outcome(
                result.text,
                result.outcome,
                "REFERRAL",
                result.campaign_slug,
                pending.who.customer_id,
            )
        if recorded:  # this text stored the friend's coupon
            self._referrals.thank_advocate(redemption, pending.who.customer_id)
        return result

    def _advocate_code(self, pending: Pending, message_sid: str) -> Outcome:
        """REFER: the advocate's referral code, asked of Talon.One once and remembered; when
        Talon.One is busy (budget, 429, 5xx, timeout) it is owed and texted later, as a
        coupon is."""
        campaign, who = pending.campaign, pending.who
        try:
            referral = self._referrals.advocate_code(campaign, who.customer_id, who.phone_e164)
        except TalonError as error:
            if isinstance(error, TalonRejected):
                return self._wording.failed(pending, "failed", str(error))
            if self._coupons.can_owe:
                return self._wording.deferred(pending, message_sid, str(error))
            return self._wording.failed(pending, "talon_unavailable", str(error))
        text = self._referrals.advocate_reply(campaign, referral, who.first_name, pending.keyword)
        outcome = "referral_code_issued" if referral.fresh else "referral_code_resent"
        return Outcome(
            text,
            outcome,
            pending.keyword,
            campaign.slug,
            who.customer_id,
            identifier=who.customer_id,  # settles a code owed meanwhile: not texted twice
        )

    def _loyalty(self, pending: Pending) -> Outcome:
        campaign = pending.campaign
        assert campaign.loyalty_program_id is not None  # noqa: S101 - validated on import
        try:
            ledger = self._talon.loyalty(pending.who.customer_id, campaign.loyalty_program_id)
        except TalonError as error:
            log_talon_error(campaign.slug, error)
            outcome = "failed" if isinstance(error, TalonRejected) else "talon_unavailable"
            return self._wording.failed(pending, outcome, str(error))
        return self._wording.loyalty(pending, ledger)

    def _record(self, db: Session, message_sid: str, outcome: Outcome) -> None:
        if outcome.identifier and outcome.campaign_slug and outcome.text:
            # The customer has the code now: a code owed by SMS must not follow it.
            settle_answered_inline(db, outcome.campaign_slug, outcome.identifier, self._clock())
        db.execute(
            _RECORD,
            {
                "sid": message_sid,
                "new_outcome": outcome.outcome,
                "new_reply": outcome.text,
                "new_keyword": outcome.keyword,
                "new_campaign_slug": outcome.campaign_slug,
                "new_customer_id": outcome.customer_id,
                "new_detail": outcome.detail,
                "new_matched_by": outcome.matched_by,
                "new_texted": outcome.texted,
            },
        )


def _clean(value: str) -> str:
    return value.replace("\x00", "")
