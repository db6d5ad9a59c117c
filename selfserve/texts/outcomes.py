"""What a text is, what we decide about it, and how the decision reads as a reply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from selfserve.campaigns import CampaignBook, CampaignSpec, format_points, render_template
from selfserve.coupons import (
    DEFERRED_OUTCOME,
    OWED_COUPON,
    OWED_REFERRAL_CODE,
    OWED_REFERRAL_COUPON,
    CodePages,
    Deferral,
    IssuedCode,
)
from selfserve.customers import Identity
from selfserve.journeys import Redemption
from selfserve.ops import Catalogues
from selfserve.talon import LoyaltyBalance

SORRY = "Sorry, we can't do that right now. Please try again later."
CAPPED_REPLY = (
    "Sorry, you've had all the new codes we can give one number today. "
    "Codes you already have still work: text their keyword again to see one."
)


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
    media_url: str = ""  # MMS: the barcode picture sent with the text (campaign `mms`)


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
    media_url: str = ""  # MMS: the code's barcode picture (campaign `mms = true`)
    matched_by: str | None = None  # how the keyword was found (texts/matching.py)
    texted: str | None = None  # what was texted, when it was not the keyword exactly


@dataclass(frozen=True)
class Pending:
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
    first_code: bool = False  # read just now: no code of any campaign for this customer
    nothing_owed: bool = False  # read just now: no code owed in the campaign to this customer
    redemption: Redemption | None = None  # a friend's referral code: this coupon is theirs
    matched_by: str | None = None  # how the keyword was found (texts/matching.py)
    texted: str | None = None  # what was texted, when it was not the keyword exactly


class Wording:
    """Turns decisions into the words a customer reads (campaign replies and our own)."""

    def __init__(
        self,
        campaigns: CampaignBook,
        code_pages: CodePages,
        catalogues: Catalogues,
        *,
        languages: tuple[str, ...] = ("en",),
        program_name: str = "selfserve",
        help_text: str = "",
    ) -> None:
        self._campaigns = campaigns
        self._code_pages = code_pages
        self._catalogues = catalogues
        self.default_language = languages[0]
        self._program = program_name
        self._help_text = help_text  # HELP_TEXT: the operator's own English help answer

    def _(self, language: str, message: str, **values: str) -> str:
        """Our own `message` in `language`, with its placeholders filled."""
        return self._catalogues.gettext(language, message).format(**values)

    def translated(self, language: str, message: str, **values: str) -> str:
        """Our own `message` in `language` (for the other answerers of texts/)."""
        return self._(language, message, **values)

    def referral_refused(self, text: str, campaign_slug: str, language: str) -> str:
        """A refused friend's code: in its campaign's `language`, else the number's."""
        campaign = self._campaigns.by_slug(campaign_slug)
        return self._((campaign.language if campaign else "") or language, text)

    def language_of(self, campaign: CampaignSpec) -> str:
        """The language of our own texts about a campaign."""
        return campaign.language or self.default_language

    def with_code(self, pending: Pending, issued: IssuedCode, outcome: str) -> Outcome:
        """A code in the campaign's reply (or a journey's own reply around the code)."""
        if pending.reply:  # a journey's own answer around the code (entry number…)
            text = render_template(
                pending.reply,
                {
                    **common_fields(pending),
                    **pending.fields,
                    "code": issued.code,
                    "expiry": issued.expires_at,
                    "starts": issued.starts_at,
                },
            )
        else:
            text = self._code_pages.reply(
                pending.campaign,
                pending.identifier,
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
            media_url=self._code_pages.barcode_url(pending.campaign.slug, pending.identifier)
            if pending.campaign.mms
            else "",
            matched_by=pending.matched_by,
            texted=pending.texted,
        )

    def loyalty(self, pending: Pending, ledger: LoyaltyBalance) -> Outcome:
        """A loyalty balance in the campaign's reply."""
        campaign = pending.campaign
        text = render_template(
            campaign.reply,
            {
                **common_fields(pending),
                "balance": format_points(ledger.balance),
                "pending": format_points(ledger.pending),
                "tier": ledger.tier,
                "points_to_next_tier": format_points(ledger.points_to_next_tier or 0),
            },
        )
        return Outcome(
            text,
            "loyalty_balance",
            pending.keyword,
            campaign.slug,
            pending.who.customer_id,
            matched_by=pending.matched_by,
            texted=pending.texted,
        )

    def deferred(self, pending: Pending, message_sid: str, reason: str) -> Outcome:
        """ "We'll text your code": the campaign's deferred reply, and the code owed."""
        who = pending.who
        template = pending.campaign.deferred_reply
        if "deferred_reply" not in pending.campaign.options:  # our default, not the marketer's
            template = self._catalogues.gettext(self.language_of(pending.campaign), template)
        referral = pending.redemption.referral if pending.redemption else None
        kind = OWED_REFERRAL_COUPON if referral else OWED_COUPON
        code_url = self._code_pages.url_for(pending.campaign.slug, pending.identifier)
        if pending.campaign.action == "referral":  # the advocate's code: no code page
            kind, code_url = OWED_REFERRAL_CODE, ""
        return Outcome(
            render_template(template, {**common_fields(pending), "code_url": code_url}),
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
                kind=kind,
                referral_code_id=referral.id if referral else None,
            ),
            matched_by=pending.matched_by,
            texted=pending.texted,
        )

    def failed(self, pending: Pending, outcome: str, detail: str) -> Outcome:
        """A polite "sorry" that names what went wrong in the log, not to the customer."""
        return Outcome(
            self._(
                self.language_of(pending.campaign),
                CAPPED_REPLY if outcome == "capped" else SORRY,
            ),
            outcome,
            pending.keyword,
            pending.campaign.slug,
            pending.who.customer_id,
            detail=detail,
            matched_by=pending.matched_by,
            texted=pending.texted,
        )

    def unknown_keyword(self, language: str) -> str:
        """The answer to a word that is no campaign's keyword."""
        return (
            self._(language, "Sorry, we didn't recognise that.") + " " + self.keyword_hint(language)
        )

    def ambiguous(self, candidates: tuple[str, ...], language: str) -> str:
        """Did you mean SPRING or SPRINT? (one segment: at most three keywords named)."""
        named = candidates[:3]
        return self._(
            language,
            "Did you mean {first} or {second}? Text the word again.",
            first=", ".join(named[:-1]),
            second=named[-1],
        )

    def ended(self, campaign: CampaignSpec) -> str:
        """A keyword of a campaign that has ended."""
        language = self.language_of(campaign)
        ended = self._(language, "Sorry, {name} has ended.", name=campaign.name)
        return ended + " " + self.keyword_hint(language)

    def opted_out(self, language: str, channel: str = "sms") -> str:
        """The opt-out confirmation (for words Twilio did not confirm itself); on WhatsApp
        it says WhatsApp, since texts go on."""
        if channel == "whatsapp":
            return self._(
                language,
                "You're unsubscribed from {program} on WhatsApp and will get no more WhatsApp "
                "messages. Reply START to opt back in.",
                program=self._program,
            )
        return self._(
            language,
            "You're unsubscribed from {program} and will get no more texts. "
            "Reply START to opt back in.",
            program=self._program,
        )

    def opted_in(self, language: str, channel: str = "sms") -> str:
        """The opt-in confirmation (for words Twilio did not confirm itself)."""
        if channel == "whatsapp":
            return self._(
                language,
                "You're subscribed to {program} on WhatsApp again. Reply STOP to opt out.",
                program=self._program,
            )
        return self._(
            language,
            "You're subscribed to {program} texts again. Reply STOP to opt out.",
            program=self._program,
        )

    def help(self, language: str) -> str:
        """The HELP answer: HELP_TEXT in English when set, else the catalogue's."""
        if language == "en" and self._help_text:
            return self._help_text
        return self._(
            language,
            "{program}: text a keyword to get your offer. 1 msg per request. "
            "Msg&data rates may apply. Reply STOP to cancel.",
            program=self._program,
        )

    def keyword_hint(self, language: str) -> str:
        """Which keywords to text (the first five active ones)."""
        keywords = self._campaigns.active_keywords()
        if not keywords:
            return self._(
                language, "There are no offers right now. Reply HELP for help, STOP to opt out."
            )
        return self._(
            language,
            "Text {keywords} to take part. Reply HELP for help, STOP to opt out.",
            keywords=", ".join(keywords[:5]),
        )


def common_fields(pending: Pending) -> dict[str, Any]:
    """The placeholders every reply of a campaign may use."""
    return {
        "name": pending.campaign.name,
        "first_name": pending.who.first_name,
        "keyword": pending.keyword,
    }
