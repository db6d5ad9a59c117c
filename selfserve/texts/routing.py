"""What a text asks for: compliance words first, then the keyword's campaign and its use case.

Runs inside the MessageSid claim's transaction, so it only reads and records what is local
(opt-outs, consent, competition entries, a remembered code). Anything that needs Talon.One
comes back as a `Pending` for the answerer to finish outside the transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from selfserve.campaigns import DEFAULT_CONFIRM_REPLY, CampaignBook, CampaignSpec, render_template
from selfserve.coupons import (
    OWED_WITH_REFERRAL,
    Coupons,
    find_advocate_referral,
    find_issued_code,
    is_owed,
    owed_with_referral,
    take_warm_code,
)
from selfserve.customers import (
    CONFIRM_WORDS,
    ConsentState,
    Identity,
    identify,
    is_opted_out,
    is_whatsapp_opted_out,
    language_of,
    pending_subscription,
    record_consent,
    remember_language,
    revoke,
    set_opt_out,
    set_whatsapp_opt_out,
)
from selfserve.journeys import Redemption, RedemptionRefused, Referrals, answer_journey_text
from selfserve.models import utcnow
from selfserve.sms import MY_CODES_WORD, Compliance, ComplianceWords, normalise_body
from selfserve.texts.data_rights import DataRights
from selfserve.texts.matching import AMBIGUOUS, KeywordMatcher, Match
from selfserve.texts.outcomes import Outcome, Pending, Wording

JOURNEY_ACTIONS = ("competition", "birthday")  # answered by selfserve.journeys.competitions


class Router:
    """Decides what one text is: an opt-out, help, a subscription, or a campaign's use case."""

    def __init__(
        self,
        campaigns: CampaignBook,
        coupons: Coupons,
        wording: Wording,
        referrals: Referrals,
        data_rights: DataRights,
        *,
        identity_secret: str,
        default_region: str,
        compliance: ComplianceWords,
        matcher: KeywordMatcher,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._campaigns = campaigns
        self._coupons = coupons
        self._wording = wording
        self._referrals = referrals
        self._data_rights = data_rights
        self._secret = identity_secret
        self._region = default_region
        self._compliance_words = compliance
        self._matcher = matcher
        self._clock = clock

    def decide(
        self,
        db: Session,
        phone: str,
        body: str,
        opt_out_type: str,
        message_sid: str = "",
        channel: str = "sms",
    ) -> Outcome | Pending:
        """The outcome of a text from `phone` (on sms or whatsapp), or the Talon.One part
        still to do. Opt-outs and consent are per channel."""
        compliance = self._compliance(db, phone, body, opt_out_type, channel)
        if compliance is not None:
            return compliance
        # A data-rights request is answered even after STOP: erasure is the person's right.
        rights = self._data_rights.answer(db, phone, normalise_body(body), message_sid)
        if rights is not None:
            return rights
        if _stopped(db, phone, channel, self._secret):
            return Outcome(None, "ignored_opted_out")
        if normalise_body(body) == MY_CODES_WORD:
            return self._data_rights.my_codes(db, phone)
        found = self._matcher.match(body)
        campaign = found.campaign
        if campaign is None:
            return self._not_matched(db, phone, body, found)
        if campaign.language:
            remember_language(db, phone, campaign.language, self._clock())
        if not campaign.active:
            return Outcome(
                self._wording.ended(campaign),
                "campaign_inactive",
                found.keyword,
                campaign.slug,
                matched_by=found.matched_by,
                texted=found.texted,
            )
        who = identify(db, phone, self._secret)
        started = self._start(db, campaign, who, found.keyword, channel)
        return replace(started, matched_by=found.matched_by, texted=found.texted)

    def _not_matched(self, db: Session, phone: str, body: str, found: Match) -> Outcome | Pending:
        """No campaign: ask which of two neighbours they meant, a friend's referral code, or
        the keywords to text (an unknown or expired referral code reads exactly like any
        unknown word, so codes cannot be probed)."""
        language = language_of(db, phone) or self._wording.default_language
        if found.matched_by == AMBIGUOUS:
            return Outcome(
                self._wording.ambiguous(found.candidates, language),
                "ambiguous_keyword",
                keyword=found.keyword[:64] or None,
                matched_by=AMBIGUOUS,
                texted=found.texted,
            )
        who = identify(db, phone, self._secret)
        referral = self._referrals.find(db, body, who.customer_id)
        if isinstance(referral, Redemption):
            return Pending(
                referral.friend_campaign,
                who,
                referral.keyword,
                referral.identifier,
                redemption=referral,
            )
        if isinstance(referral, RedemptionRefused):
            return Outcome(
                self._wording.referral_refused(referral.text, referral.campaign_slug, language),
                referral.outcome,
                "REFERRAL",
                referral.campaign_slug,
                who.customer_id,
            )
        return Outcome(
            self._wording.unknown_keyword(language),
            "unknown_keyword",
            keyword=found.keyword[:64] or None,
        )

    def _compliance(
        self, db: Session, phone: str, body: str, opt_out_type: str, channel: str = "sms"
    ) -> Outcome | None:
        """STOP, START, HELP and the Y of a double opt-in, before any campaign routing.
        On WhatsApp, STOP and START are for WhatsApp only, and always confirmed by us
        (Twilio's own opt-out handling does not cover WhatsApp)."""
        word = self._compliance_words.classify(body, opt_out_type)
        whatsapp = channel == "whatsapp"
        if word is not None and not opt_out_type:
            remember_language(db, phone, word.language, self._clock())
        if word is not None and word.kind is Compliance.OPT_OUT:
            # The revoke first, with the words the customer texted (set_opt_out would record
            # a generic one).
            revoke(db, phone, "keyword", f"Texted {normalise_body(body)[:32]}", channel)
            self._set_stopped(db, phone, True, channel)
            # Twilio confirms its own words itself; a word only we understood, we confirm.
            quiet = word.twilio_confirms and not whatsapp
            return Outcome(
                None if quiet else self._wording.opted_out(word.language, channel), "opted_out"
            )
        if normalise_body(body) in CONFIRM_WORDS and not opt_out_type:
            confirmed = self._confirm_subscription(db, phone, channel)
            if confirmed is not None:
                return confirmed
            if normalise_body(body) == "Y":
                return Outcome(self._wording.help(self._wording.default_language), "help")
        if word is not None and word.kind is Compliance.OPT_IN:
            self._set_stopped(db, phone, False, channel)
            quiet = word.twilio_confirms and not whatsapp
            return Outcome(
                None if quiet else self._wording.opted_in(word.language, channel), "opted_in"
            )
        if word is not None and word.kind is Compliance.HELP:
            return Outcome(self._wording.help(word.language), "help")
        return None

    def _set_stopped(self, db: Session, phone: str, stopped: bool, channel: str) -> None:
        """The opt-out register of the channel the word came on."""
        if channel == "whatsapp":
            set_whatsapp_opt_out(db, phone, stopped, "keyword", self._clock())
        else:
            set_opt_out(db, phone, stopped, reason="keyword")

    def _start(
        self, db: Session, campaign: CampaignSpec, who: Identity, keyword: str, channel: str
    ) -> Outcome | Pending:
        if campaign.action in JOURNEY_ACTIONS:
            return self._start_journey(db, campaign, who, keyword)
        if campaign.action == "subscribe":
            return self._ask_to_subscribe(db, campaign, who, keyword, channel)
        if campaign.action == "referral":
            return self._start_referral(db, campaign, who, keyword)
        pending = Pending(campaign, who, keyword, identifier="")
        if campaign.action == "coupon":
            identifier = self._coupons.identifier_for(campaign, who.customer_id, keyword)
            known = find_issued_code(db, campaign.slug, identifier)
            pending = Pending(campaign, who, keyword, identifier)
            if known is not None and owed_with_referral(db, campaign.slug, identifier):
                # Stored by the worker, not texted yet: its text and the advocate's thanks
                # follow; answering with it here would settle the owed row without either.
                return replace(
                    self._wording.deferred(pending, "", OWED_WITH_REFERRAL), deferral=None
                )
            if known is not None:
                # A code a warm-up fetched counts as issued when first asked for.
                first_ask = known.warm and take_warm_code(db, campaign.slug, identifier)
                outcome = "code_issued" if first_ask else "code_resent"
                return self._wording.with_code(pending, known, outcome)
        return pending

    def _start_referral(
        self, db: Session, campaign: CampaignSpec, who: Identity, keyword: str
    ) -> Outcome | Pending:
        """REFER: the remembered code; while it is owed, "we'll text it" again without
        asking Talon.One (each referral call makes a new code); else ask (the answerer)."""
        known = find_advocate_referral(db, campaign.slug, who.customer_id)
        if known is not None:  # remembered: Talon.One is asked once per advocate
            text = self._referrals.advocate_reply(campaign, known, who.first_name, keyword)
            return Outcome(text, "referral_code_resent", keyword, campaign.slug, who.customer_id)
        pending = Pending(campaign, who, keyword, identifier=who.customer_id)
        if is_owed(db, campaign.slug, who.customer_id):
            return replace(self._wording.deferred(pending, "", "already owed"), deferral=None)
        return pending

    def _start_journey(
        self, db: Session, campaign: CampaignSpec, who: Identity, keyword: str
    ) -> Outcome | Pending:
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
        identifier = self._coupons.identifier_for(campaign, who.customer_id, keyword)
        pending = Pending(
            campaign, who, keyword, identifier, answer.template, answer.fields, answer.outcome
        )
        known = find_issued_code(db, campaign.slug, identifier)
        if known is not None:
            return self._wording.with_code(pending, known, answer.outcome)
        return pending

    def _ask_to_subscribe(
        self, db: Session, campaign: CampaignSpec, who: Identity, keyword: str, channel: str
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
            channel=channel,
        )
        return Outcome(text, "subscribe_pending", keyword, campaign.slug, who.customer_id)

    def _confirm_subscription(self, db: Session, phone: str, channel: str) -> Outcome | None:
        """Y (or YES) within 24 hours of a JOIN on the same channel: consent to the wording
        they were sent, on that channel."""
        pending = pending_subscription(db, phone, self._clock(), channel)
        if pending is None:
            return None
        campaign = self._campaigns.by_slug(pending.campaign_slug or "")
        self._set_stopped(db, phone, False, channel)
        record_consent(
            db,
            phone,
            ConsentState.CONSENTED,
            "keyword",
            pending.wording,
            campaign_slug=pending.campaign_slug,
            at=self._clock(),
            channel=channel,
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


def _stopped(db: Session, phone: str, channel: str, identity_secret: str) -> bool:
    """Whether `phone` opted out of the channel this text came on."""
    if channel == "whatsapp":
        return is_whatsapp_opted_out(db, phone)
    return is_opted_out(db, phone, identity_secret)
