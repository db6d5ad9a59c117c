"""Answering one inbound text: claim it, apply compliance words, route the keyword, reply.

The MessageSid is claimed under a UNIQUE constraint before any work, so a duplicate delivery
(Twilio retry, fallback URL, replay), even in another process, never makes a second
Talon.One call: it waits for the first delivery's reply and answers the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from selfserve.campaigns.book import (
    DEFAULT_CONFIRM_REPLY,
    CampaignBook,
    CampaignSpec,
    render_template,
)
from selfserve.coupons.deferrals import (
    DEFERRED_OUTCOME,
    Deferral,
    record_deferral,
    settle_answered_inline,
)
from selfserve.customers.consent import (
    CONFIRM_WORDS,
    ConsentState,
    pending_subscription,
    record_consent,
    revoke,
)
from selfserve.customers.identity import Identity, identify
from selfserve.errors import TalonError, TalonRateLimited, TalonRejected
from selfserve.journeys.competitions import answer_journey_text, entry_fields
from selfserve.journeys.loyalty import award_for_taking_part
from selfserve.models import InboundMessage, IssuedCoupon, utcnow
from selfserve.ops.database import insert_ignoring_duplicates, write_turn
from selfserve.sms.senders import is_opted_out, set_opt_out
from selfserve.sms.words import Compliance, classify, first_word, normalise_body
from selfserve.talon.client import CouponRequest, TalonClient
from selfserve.texts.fast_path import (
    AnsweredBefore,
    NewCustomer,
    ReturningCustomers,
    ReturningText,
    read_sender,
)

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
    )
)

SORRY = "Sorry, we can't do that right now. Please try again later."
JOURNEY_ACTIONS = ("competition", "birthday")  # answered by selfserve.journeys.competitions


@dataclass(frozen=True)
class InboundText:
    """The parts of Twilio's webhook form the domain needs."""

    message_sid: str
    sender: str
    body: str
    to: str = ""
    opt_out_type: str = ""
    source: str | None = None


@dataclass(frozen=True)
class Reply:
    """What to answer: `text` None means an empty <Response/>."""

    text: str | None
    outcome: str
    duplicate: bool = False


@dataclass(frozen=True)
class Outcome:
    """A decision about a text, before it is written down."""

    text: str | None
    outcome: str
    keyword: str | None = None
    campaign_slug: str | None = None
    customer_id: str | None = None
    detail: str | None = None
    identifier: str | None = None  # coupon outcomes: settles a code owed by SMS
    deferral: Deferral | None = None  # the code is owed: the worker will text it
    recorded: bool = False  # already in the message log (stored in the code's own commit)


@dataclass(frozen=True)
class IssuedCode:
    """A code for one customer and campaign, from our records or fresh from Talon.One."""

    code: str
    expires_at: datetime | None
    starts_at: datetime | None
    fresh: bool


class TextAnswerer:
    """Turns an inbound text into a reply, recording it in the message log."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        campaigns: CampaignBook,
        talon: TalonClient,
        identity_secret: str,
        default_region: str,
        help_text: str,
        deadline_seconds: float = 8.0,
        clock: Callable[[], datetime] = utcnow,
        on_deferred: Callable[[int, int], None] | None = None,
        returning: ReturningCustomers | None = None,
    ) -> None:
        self._sessions = sessions
        self._campaigns = campaigns
        self._talon = talon
        self._secret = identity_secret
        self._region = default_region
        self._help_text = help_text
        self._deadline = deadline_seconds
        self._clock = clock
        self._returning = returning
        self._write_turn = write_turn(sessions.kw["bind"])  # SQLite: one writer thread at a time
        # With a queue, a code Talon.One cannot give in time is owed and texted later
        # (on_deferred(row id, attempt) enqueues the job); without one, a polite "sorry".
        self._on_deferred = on_deferred
        self._pause_seconds = 0.0
        self._paused_until = 0.0  # time.monotonic() before which the webhook owes at once
        self._on_award: Callable[[str, str], None] | None = None

    def connect_queue(
        self, on_deferred: Callable[[int, int], None], pause_after_failure_seconds: float = 0.0
    ) -> None:
        """Owe codes Talon.One cannot give in time; on_deferred(id, attempt) enqueues the job.

        After a timeout, refusal or 5xx, texts are owed at once for `pause_after_failure_seconds`
        (in this process) instead of each waiting out the timeout again: during an outage each
        web process asks Talon.One about once in that time and answers every other text at once.
        """
        self._on_deferred = on_deferred
        self._pause_seconds = pause_after_failure_seconds

    def connect_awards(self, on_award: Callable[[str, str], None]) -> None:
        """Give award_points from the worker: on_award(campaign_slug, customer_id) enqueues."""
        self._on_award = on_award

    def answer(self, text: InboundText) -> Reply:
        """Answer one inbound text; a duplicate MessageSid gets the first delivery's reply."""
        sender = read_sender(text.sender, self._region)
        channel, phone, masked = sender.channel, sender.phone, sender.masked
        known: ReturningText | NewCustomer | AnsweredBefore | None = None
        if phone and self._returning is not None:
            known = self._returning.find(
                text.message_sid, phone, text.body, text.opt_out_type, self.identifier_for
            )
            if isinstance(known, ReturningText):
                return self._answer_returning(text, channel, masked, known)
            if isinstance(known, AnsweredBefore):
                return Reply(known.reply, known.outcome, duplicate=True)
        claim = {
            "message_sid": text.message_sid,
            "received_at": self._clock(),
            "channel": channel,
            "phone_masked": masked,
            "to_number": _clean(text.to)[:32],
            "source": text.source,
            "state": "processing",
        }
        outcome: Outcome | _Pending | None = None
        if isinstance(known, NewCustomer):
            # The fast path's read has decided already: the claim is one INSERT, its own
            # transaction, so SQLite's write lock is held for one statement, not for reads.
            assert self._returning is not None  # noqa: S101 - NewCustomer comes from it
            if self._returning.claim(claim):
                outcome = _Pending(
                    known.campaign,
                    known.who,
                    known.keyword,
                    known.identifier,
                    code_missing=True,
                )
        else:
            with self._write_turn, self._sessions.begin() as db:
                claimed = insert_ignoring_duplicates(db, InboundMessage.__table__, claim)
                if claimed:
                    outcome = (
                        self._decide(db, phone, text) if phone else Outcome(None, "invalid_sender")
                    )
                    if isinstance(outcome, Outcome):
                        self._record(db, text.message_sid, outcome)
        if outcome is None:  # outside the transaction, so the first delivery can finish
            return self._wait_for_first_delivery(text.message_sid)
        owed: tuple[int, int] | None = None
        if isinstance(outcome, _Pending):
            message_sid = text.message_sid
            outcome = self._complete(
                outcome, message_sid, record=lambda db, done: self._record(db, message_sid, done)
            )
            if not outcome.recorded:
                with self._write_turn, self._sessions.begin() as db:
                    self._record(db, message_sid, outcome)
                    if outcome.deferral is not None:
                        owed = record_deferral(db, outcome.deferral, self._clock())
        if owed is not None and self._on_deferred is not None:
            try:
                self._on_deferred(*owed)
            except Exception:  # the row is committed: the worker's sweeper will find it
                log.exception("deferred_enqueue_failed", extra={"message_sid": text.message_sid})
        award_for_taking_part(
            self._sessions, self._talon, self._campaigns, outcome, enqueue=self._on_award
        )
        log.info(
            "text_answered",
            extra={
                "message_sid": text.message_sid,
                "phone": masked,
                "outcome": outcome.outcome,
                "campaign": outcome.campaign_slug,
                "customer_id": outcome.customer_id,
            },
        )
        return Reply(outcome.text, outcome.outcome)

    def _answer_returning(
        self, text: InboundText, channel: str, masked: str, known: ReturningText
    ) -> Reply:
        """A code already issued: reply now, log the text in the next batch (returning.py)."""
        issued = IssuedCode(known.code.code, known.code.expires_at, known.code.starts_at, False)
        pending = _Pending(known.campaign, known.who, known.keyword, known.identifier)
        outcome = self._coupon_outcome(pending, issued, "code_resent")
        assert self._returning is not None  # noqa: S101 - only called with the fast path on
        self._returning.record(
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
            }
        )
        if known.campaign.option("award_points"):  # taking part earns points, once
            award_for_taking_part(
                self._sessions, self._talon, self._campaigns, outcome, enqueue=self._on_award
            )
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
        return Reply(outcome.text, outcome.outcome)

    def _decide(self, db: Session, phone: str, text: InboundText) -> Outcome | _Pending:
        compliance = classify(text.body, text.opt_out_type)
        if compliance is Compliance.OPT_OUT:
            # The revoke first, with the words the customer texted (set_opt_out would record
            # a generic one).
            revoke(db, phone, "keyword", f"Texted {normalise_body(text.body)[:32]}")
            set_opt_out(db, phone, True, reason="keyword")
            return Outcome(None, "opted_out")
        if normalise_body(text.body) in CONFIRM_WORDS and not text.opt_out_type:
            confirmed = self._confirm_subscription(db, phone)
            if confirmed is not None:
                return confirmed
            if normalise_body(text.body) == "Y":
                return Outcome(self._help_text, "help")
        if compliance is Compliance.OPT_IN:
            set_opt_out(db, phone, False, reason="keyword")
            return Outcome(None, "opted_in")
        if compliance is Compliance.HELP:
            return Outcome(self._help_text, "help")
        if is_opted_out(db, phone):
            return Outcome(None, "ignored_opted_out")
        keyword = first_word(text.body)
        campaign = self._campaigns.by_keyword(keyword) if keyword else None
        if campaign is None:
            return Outcome(
                self._unknown_keyword_text(), "unknown_keyword", keyword=keyword[:64] or None
            )
        if not campaign.active:
            return Outcome(
                f"Sorry, {campaign.name} has ended. " + self._keyword_hint(),
                "campaign_inactive",
                keyword,
                campaign.slug,
            )
        who = identify(db, phone, self._secret)
        return self._start(db, campaign, who, keyword)

    def _start(
        self, db: Session, campaign: CampaignSpec, who: Identity, keyword: str
    ) -> Outcome | _Pending:
        if campaign.action in JOURNEY_ACTIONS:
            return self._start_journey(db, campaign, who, keyword)
        if campaign.action == "subscribe":
            return self._ask_to_subscribe(db, campaign, who, keyword)
        pending = _Pending(campaign, who, keyword, identifier="")
        if campaign.action == "coupon":
            identifier = self.identifier_for(campaign, who.customer_id, keyword)
            known = find_issued_code(db, campaign.slug, identifier)
            pending = _Pending(campaign, who, keyword, identifier)
            if known is not None:
                return self._coupon_outcome(pending, known, "code_resent")
        return pending

    def _start_journey(
        self, db: Session, campaign: CampaignSpec, who: Identity, keyword: str
    ) -> Outcome | _Pending:
        """Competitions (and birthday keywords): the entry is made inside the claim."""
        answer = answer_journey_text(
            db, campaign, who.phone_e164, who.customer_id, self._clock(), self._region
        )
        if not answer.needs_code:
            text = render_template(
                answer.template,
                {
                    "name": campaign.name,
                    "first_name": who.first_name,
                    "keyword": keyword,
                    **answer.fields,
                },
            )
            return Outcome(text, answer.outcome, keyword, campaign.slug, who.customer_id)
        identifier = self.identifier_for(campaign, who.customer_id, keyword)
        pending = _Pending(
            campaign, who, keyword, identifier, answer.template, answer.fields, answer.outcome
        )
        known = find_issued_code(db, campaign.slug, identifier)
        if known is not None:
            return self._coupon_outcome(pending, known, answer.outcome)
        return pending

    def _complete(
        self,
        pending: _Pending,
        message_sid: str = "",
        record: Callable[[Session, Outcome], None] | None = None,
    ) -> Outcome:
        """Do the Talon.One part, outside any database transaction.

        `record(db, outcome)`, when given, writes a fresh code's outcome in the same commit
        that stores the code (one write turn instead of two); the outcome says `recorded`.
        """
        campaign = pending.campaign
        deferring = self._on_deferred is not None and campaign.action in ("coupon", "competition")
        if deferring and time.monotonic() < self._paused_until:
            return self._deferred(pending, message_sid, "Talon.One failed a moment ago")
        try:
            if campaign.action == "loyalty":
                return self._loyalty_outcome(pending)
            recorded: list[Outcome] = []

            def record_with_the_code(db: Session, code: IssuedCode) -> None:
                done = self._coupon_outcome(pending, code, pending.outcome or "code_issued")
                assert record is not None  # noqa: S101 - only passed along with `record`
                record(db, done)
                recorded.append(replace(done, recorded=True))

            issued = self.issue_code(
                campaign,
                pending.who.customer_id,
                pending.identifier,
                known_missing=pending.code_missing,
                then=record_with_the_code if record is not None else None,
            )
            if recorded:
                return recorded[0]
        except TalonRejected as error:
            log.error(
                "talon_rejected",
                extra={
                    "campaign": campaign.slug,
                    "status": error.status,
                    "error": error.error,
                    "request_uuid": error.request_uuid,
                },
            )
            return self._failed(pending, "failed", str(error))
        except TalonError as error:
            log.warning(
                "talon_unavailable", extra={"campaign": campaign.slug, "reason": str(error)}
            )
            if deferring:
                if not isinstance(error, TalonRateLimited):  # budget and 429 have their own wait
                    self._paused_until = time.monotonic() + self._pause_seconds
                return self._deferred(pending, message_sid, str(error))
            return self._failed(pending, "talon_unavailable", str(error))
        return self._coupon_outcome(pending, issued, pending.outcome or "code_issued")

    def _deferred(self, pending: _Pending, message_sid: str, reason: str) -> Outcome:
        who = pending.who
        return Outcome(
            render_template(pending.campaign.deferred_reply, self._common_fields(pending)),
            DEFERRED_OUTCOME,
            pending.keyword,
            pending.campaign.slug,
            who.customer_id,
            detail=reason,
            deferral=Deferral(
                message_sid=message_sid,
                campaign_slug=pending.campaign.slug,
                identifier=pending.identifier,
                customer_id=who.customer_id,
                phone_e164=who.phone_e164,
                keyword=pending.keyword,
                first_name=who.first_name,
                reason=reason,
            ),
        )

    def _ask_to_subscribe(
        self, db: Session, campaign: CampaignSpec, who: Identity, keyword: str
    ) -> Outcome:
        """JOIN: record a pending consent with the exact wording, and ask for a Y."""
        text = render_template(
            campaign.reply,
            {"name": campaign.name, "first_name": who.first_name, "keyword": keyword},
        )
        record_consent(
            db,
            who.phone_e164,
            ConsentState.PENDING,
            "keyword",
            text,
            campaign_slug=campaign.slug,
            at=self._clock(),
        )
        return Outcome(text, "subscribe_pending", keyword, campaign.slug, who.customer_id)

    def _confirm_subscription(self, db: Session, phone: str) -> Outcome | None:
        """Y (or YES) within 24 hours of a JOIN: consent to the wording they were sent."""
        pending = pending_subscription(db, phone, self._clock())
        if pending is None:
            return None
        campaign = self._campaigns.by_slug(pending.campaign_slug or "")
        set_opt_out(db, phone, False, reason="keyword")
        record_consent(
            db,
            phone,
            ConsentState.CONSENTED,
            "keyword",
            pending.wording,
            campaign_slug=pending.campaign_slug,
            at=self._clock(),
        )
        who = identify(db, phone, self._secret)
        template = campaign.confirm_reply if campaign else DEFAULT_CONFIRM_REPLY
        reply = render_template(
            template,
            {
                "name": campaign.name if campaign else "our",
                "first_name": who.first_name,
                "keyword": "Y",
            },
        )
        return Outcome(reply, "subscribed", "Y", pending.campaign_slug, who.customer_id)

    def identifier_for(self, campaign: CampaignSpec, customer_id: str, keyword: str) -> str:
        """The Talon.One identifier from the campaign's template (never the phone number)."""
        return _identifier(
            campaign.identifier,
            customer_id,
            campaign.campaign_id,
            campaign.application_id,
            campaign.external_campaign_id,
            campaign.slug,
            keyword or (campaign.keywords[0] if campaign.keywords else ""),
            self._clock().date().isoformat(),  # YYYY-MM-DD (strftime costs more, per text)
        )

    def issue_code(
        self,
        campaign: CampaignSpec,
        customer_id: str,
        identifier: str,
        dry_run: bool | None = None,
        talon: TalonClient | None = None,
        known_missing: bool = False,
        then: Callable[[Session, IssuedCode], None] | None = None,
    ) -> IssuedCode:
        """Create or retrieve the customer's coupon at Talon.One and keep it.

        `talon` overrides the answerer's own client (the worker passes one with the full
        timeout). `known_missing`: the caller has just read that no code is stored (skip that
        read). `then(db, code)` runs inside the transaction that stores a fresh code. Raises
        TalonRejected (configuration) or TalonUnavailable/TalonRateLimited
        (transient).
        """
        if not known_missing:
            with self._sessions() as db:
                known = find_issued_code(db, campaign.slug, identifier)
            if known is not None:
                return known
        assert campaign.application_id is not None  # noqa: S101 - validated on import
        assert campaign.campaign_id is not None  # noqa: S101 - validated on import
        coupon = (talon or self._talon).coupon(
            CouponRequest(
                application_id=campaign.application_id,
                campaign_id=campaign.campaign_id,
                external_campaign_id=campaign.external_campaign_id,
                identifier=identifier,
                recipient_integration_id=customer_id if campaign.recipient else None,
                usage_limit=campaign.usage_limit,
            ),
            dry_run=dry_run,
        )
        if dry_run:
            return IssuedCode(coupon.code, coupon.expires_at, coupon.starts_at, fresh=True)
        with self._write_turn, self._sessions.begin() as db:
            inserted = insert_ignoring_duplicates(
                db,
                IssuedCoupon.__table__,
                {
                    "campaign_slug": campaign.slug,
                    "identifier": identifier,
                    "customer_id": customer_id,
                    "code": coupon.code,
                    "talon_coupon_id": coupon.talon_id,
                    "starts_at": coupon.starts_at,
                    "expires_at": coupon.expires_at,
                    "issued_at": self._clock(),
                },
            )
            # Ours (in UTC, as the database gives it back, so every later reply renders the
            # same), or the one another process stored first: codes never fork.
            stored = (
                IssuedCode(coupon.code, _utc(coupon.expires_at), _utc(coupon.starts_at), True)
                if inserted
                else find_issued_code(db, campaign.slug, identifier)
            )
            assert stored is not None  # noqa: S101 - inserted or already there
            fresh = IssuedCode(stored.code, stored.expires_at, stored.starts_at, fresh=True)
            if then is not None:
                then(db, fresh)
        return fresh

    def _loyalty_outcome(self, pending: _Pending) -> Outcome:
        campaign = pending.campaign
        assert campaign.loyalty_program_id is not None  # noqa: S101 - validated on import
        ledger = self._talon.loyalty(pending.who.customer_id, campaign.loyalty_program_id)
        text = render_template(
            campaign.reply,
            {
                **self._common_fields(pending),
                "balance": _points(ledger.balance),
                "pending": _points(ledger.pending),
                "tier": ledger.tier,
                "points_to_next_tier": _points(ledger.points_to_next_tier or 0),
            },
        )
        return Outcome(
            text, "loyalty_balance", pending.keyword, campaign.slug, pending.who.customer_id
        )

    def _coupon_outcome(self, pending: _Pending, issued: IssuedCode, outcome: str) -> Outcome:
        if pending.reply:  # a journey's own answer around the code (entry number…)
            text = render_template(
                pending.reply,
                {
                    **self._common_fields(pending),
                    **pending.fields,
                    "code": issued.code,
                    "expiry": issued.expires_at,
                    "starts": issued.starts_at,
                },
            )
        else:
            text = self.code_reply(
                pending.campaign,
                issued.code,
                issued.expires_at,
                issued.starts_at,
                first_name=pending.who.first_name,
                keyword=pending.keyword,
            )
        return Outcome(
            text,
            outcome,
            pending.keyword,
            pending.campaign.slug,
            pending.who.customer_id,
            identifier=pending.identifier,
        )

    @staticmethod
    def code_reply(
        campaign: CampaignSpec,
        code: str,
        expires_at: datetime | None,
        starts_at: datetime | None,
        *,
        first_name: str = "",
        keyword: str = "",
    ) -> str:
        """The campaign's reply with the code filled in (as a TwiML reply or a later SMS)."""
        values = (campaign.reply, campaign.name, first_name, keyword, code, expires_at, starts_at)
        if _in_utc(expires_at) and _in_utc(starts_at):
            return _code_reply(*values)
        # Equal instants in other zones would share a cache entry yet print other dates.
        return _code_reply.__wrapped__(*values)

    def entry_code_reply(
        self, campaign: CampaignSpec, customer_id: str, issued: IssuedCode, first_name: str = ""
    ) -> str:
        """A competition's entry reply with its code (for a code the worker texts later)."""
        with self._sessions() as db:
            fields = entry_fields(db, campaign, customer_id, self._region)
        return render_template(
            campaign.reply,
            {
                "name": campaign.name,
                "first_name": first_name,
                **fields,
                "code": issued.code,
                "expiry": issued.expires_at,
                "starts": issued.starts_at,
            },
        )

    def _failed(self, pending: _Pending, outcome: str, detail: str) -> Outcome:
        return Outcome(
            SORRY,
            outcome,
            pending.keyword,
            pending.campaign.slug,
            pending.who.customer_id,
            detail=detail,
        )

    @staticmethod
    def _common_fields(pending: _Pending) -> dict[str, Any]:
        return {
            "name": pending.campaign.name,
            "first_name": pending.who.first_name,
            "keyword": pending.keyword,
        }

    def _unknown_keyword_text(self) -> str:
        return "Sorry, we didn't recognise that. " + self._keyword_hint()

    def _keyword_hint(self) -> str:
        keywords = self._campaigns.active_keywords()
        if not keywords:
            return "There are no offers right now. Reply HELP for help, STOP to opt out."
        listed = ", ".join(keywords[:5])
        return f"Text {listed} to take part. Reply HELP for help, STOP to opt out."

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
            },
        )

    def _wait_for_first_delivery(self, message_sid: str) -> Reply:
        """A duplicate: wait (briefly) for the first delivery's reply and give the same."""
        deadline = time.monotonic() + self._deadline
        delay = 0.02
        while True:
            with self._sessions() as db:
                row = db.execute(
                    select(
                        InboundMessage.state, InboundMessage.reply, InboundMessage.outcome
                    ).where(InboundMessage.message_sid == message_sid)
                ).first()
            if row is not None and row.state == "done":
                return Reply(row.reply, row.outcome or "duplicate", duplicate=True)
            if time.monotonic() >= deadline:
                log.warning("duplicate_still_processing", extra={"message_sid": message_sid})
                return Reply(None, "duplicate_pending", duplicate=True)
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


@dataclass(frozen=True)
class _Pending:
    """A decision that needs Talon.One: made inside the claim, finished outside it."""

    campaign: CampaignSpec
    who: Identity
    keyword: str
    identifier: str
    # Journeys answer with their own template and values (entry number) around the code.
    reply: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)
    outcome: str = ""
    code_missing: bool = False  # read just now: no code stored for the identifier


# Both templates are pure functions of their values, and a returning customer asks for the
# same ones again: cached, they skip rendering (two per returning text, a sixth of its time).
@lru_cache(maxsize=4096)
def _identifier(
    template: str,
    customer_id: str,
    campaign_id: int | None,
    application_id: int | None,
    external_campaign_id: str,
    slug: str,
    keyword: str,
    date: str,
) -> str:
    return render_template(
        template,
        {
            "customer_id": customer_id,
            "campaign_id": campaign_id,
            "application_id": application_id,
            "external_campaign_id": external_campaign_id,
            "slug": slug,
            "keyword": keyword,
            "year": date[:4],
            "month": date[:7],
            "date": date,
        },
    )


@lru_cache(maxsize=4096)
def _code_reply(
    template: str,
    name: str,
    first_name: str,
    keyword: str,
    code: str,
    expires_at: datetime | None,
    starts_at: datetime | None,
) -> str:
    return render_template(
        template,
        {
            "name": name,
            "first_name": first_name,
            "keyword": keyword,
            "code": code,
            "expiry": expires_at,
            "starts": starts_at,
        },
    )


def _in_utc(moment: datetime | None) -> bool:
    return moment is None or moment.tzinfo is UTC


def find_issued_code(db: Session, campaign_slug: str, identifier: str) -> IssuedCode | None:
    """The code already issued for this campaign and identifier, if any."""
    row = db.execute(
        select(IssuedCoupon.code, IssuedCoupon.expires_at, IssuedCoupon.starts_at).where(
            IssuedCoupon.campaign_slug == campaign_slug, IssuedCoupon.identifier == identifier
        )
    ).first()
    if row is None:
        return None
    return IssuedCode(row.code, row.expires_at, row.starts_at, fresh=False)


def _points(value: float) -> str:
    return f"{value:g}" if value != int(value) else f"{int(value)}"


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def _clean(value: str) -> str:
    return value.replace("\x00", "")
