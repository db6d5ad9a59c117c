"""The returning customer's fast path: a code already issued, answered with one read, no write.

Most texts in a busy campaign come from customers who already have their code (they text
again to find it). Their reply depends on nothing that can change under us: the campaign
(held in memory by CampaignBook) and four facts read fresh from the database in ONE
statement, because another process or host may have changed them:

- whether this MessageSid was seen before, and how it was answered: Twilio retries a webhook
  and load balancers replay, so a duplicate whose first delivery is done gets the same reply
  at once (no write); one still being answered goes to the slow path, which waits for it,
- whether the number opted out (then the slow path records and ignores the text),
- the directory's customer id and first name for the number,
- the codes already issued to that customer in the keyword's campaign.

(An in-process cache of issued codes was measured too: since the first three facts need the
round trip anyway, fetching the code in the same statement costs nothing more, and is never
stale.) The read itself is texts/facts.py; on PostgreSQL texts arriving together share it.

The message-log row is handed to MessageLogWriter, which writes it in a batch moments later.
Anything else — compliance words, unknown keywords, loyalty, a code not issued yet — returns
None and goes down the slow path, which claims the MessageSid durably before calling
Talon.One.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine

from selfserve.campaigns import CampaignBook, CampaignSpec
from selfserve.customers import (
    CONFIRM_WORDS,
    Identity,
    erasure_key,
    is_scoped_id,
    pseudonym,
    scoped_person,
    split_channel,
    to_e164_and_mask,
)
from selfserve.errors import InvalidPhoneNumber
from selfserve.ops import SetAsideConnections, write_turn
from selfserve.sms import ComplianceWords, first_word, normalise_body
from selfserve.texts.facts import AnsweredBefore, FactReader, KnownCode
from selfserve.texts.message_log import BatchInsert, MessageLogWriter


@dataclass(frozen=True)
class Sender:
    """Twilio's `From`, read once: channel, E.164 number ("" when unreadable) and its mask.

    A WhatsApp business-scoped user id (no number) reads as its own person: `phone` is our
    key for it (customers/whatsapp.py) and `address` the id itself, to write back to."""

    channel: str
    phone: str
    masked: str
    address: str = ""


@lru_cache(maxsize=65536)
def read_sender(sender: str, default_region: str) -> Sender:
    """Parse and mask a `From` value (pure, so cached: returning numbers skip phonenumbers)."""
    channel, address = split_channel(sender)
    if channel == "whatsapp" and is_scoped_id(address):
        return Sender(channel, scoped_person(address), f"{address[:3]}…{address[-2:]}", address)
    try:
        phone, masked = to_e164_and_mask(address, default_region)
    except InvalidPhoneNumber:
        return Sender(channel, "", "unknown")
    return Sender(channel, phone, masked)


@dataclass(frozen=True)
class ReturningText:
    """What the fast path found for a text: enough to render the reply without Talon.One."""

    campaign: CampaignSpec
    who: Identity
    keyword: str
    identifier: str
    code: KnownCode


@dataclass(frozen=True)
class NewCustomer:
    """The same read found no code yet, and none owed in the campaign: the slow path needs
    no further reads to start."""

    campaign: CampaignSpec
    who: Identity
    keyword: str
    identifier: str
    first_code: bool = False  # the customer holds no code of any campaign yet


class ReturningCustomers:
    """Finds returning customers' codes with one read and logs their texts in batches."""

    def __init__(
        self,
        engine: Engine,
        campaigns: CampaignBook,
        identity_secret: str,
        log_writer: MessageLogWriter,
        compliance: ComplianceWords,
    ) -> None:
        postgres = engine.dialect.name == "postgresql"
        # SQLite connections are cheap (one per busy thread); PostgreSQL ones are not, and a
        # few suffice: each statement is one round trip, so 4 serve thousands of texts a
        # second, and every worker of every host holds its own (max_connections adds up).
        self._connections = SetAsideConnections(engine, cap=4 if postgres else 128)
        self._reader = FactReader(self._connections, postgres)
        self._claim = BatchInsert(engine, returning="id")
        self._write_turn = write_turn(engine)
        self._campaigns = campaigns
        self._secret = identity_secret
        self._writer = log_writer
        self._compliance = compliance

    def find(
        self,
        message_sid: str,
        phone: str,
        body: str,
        opt_out_type: str,
        identifier_for: Callable[[CampaignSpec, str, str], str],
    ) -> ReturningText | NewCustomer | AnsweredBefore | None:
        """The returning customer's code for this text; NewCustomer when a coupon campaign's
        code is still to be issued; AnsweredBefore for a duplicate already answered; None
        when the slow path must decide everything."""
        if self._compliance.classify(body, opt_out_type) is not None:
            return None
        if normalise_body(body) in CONFIRM_WORDS:
            return None
        # Exact matches only (the matcher's first step, texts/matching.py): anything more
        # forgiving goes down the slow path, so both paths always agree.
        keyword = first_word(body)
        campaign = self._campaigns.by_keyword(keyword) if keyword else None
        if campaign is None or not campaign.active or campaign.action != "coupon":
            return None
        stranger = pseudonym(phone, self._secret)
        erased = erasure_key(phone, self._secret)
        facts = self._reader.facts(phone, message_sid, campaign.slug, stranger, erased)
        if facts.answered is not None:
            return facts.answered
        if facts.seen or facts.opted_out:
            return None
        if facts.customer_id is not None:
            who = Identity(phone, facts.customer_id, facts.first_name or "", in_directory=True)
        else:
            who = Identity(phone, stranger)
        identifier = identifier_for(campaign, who.customer_id, keyword)
        code = facts.codes.get(identifier)
        if code is None:
            if facts.owed_here:  # the slow path decides what an owed code's ask means
                return None
            return NewCustomer(campaign, who, keyword, identifier, not facts.any_code)
        if code.owed:
            return None
        return ReturningText(campaign, who, keyword, identifier, code)

    def claim(self, row: dict[str, Any]) -> bool:
        """Claim a new customer's MessageSid: one INSERT that is its own transaction.

        True when this delivery inserted the row; False when another delivery of the same
        MessageSid (any process or host) holds it. A single autocommit statement holds
        SQLite's write turn for one step, where a session's BEGIN, INSERT and COMMIT held it
        for three (each waiting for the GIL again under load).
        """
        sql, parameters = self._claim.render([row])
        with self._write_turn:
            return bool(self._connections.run(sql, parameters))

    def record(self, row: dict[str, Any]) -> None:
        """Queue the text's message-log row (written in the next batch)."""
        self._writer.add(row)

    def flush(self) -> None:
        """Write the queued message-log rows now."""
        self._writer.flush()

    def close(self) -> None:
        """Write the queued rows and release connections."""
        self._writer.close()
        self._connections.close()
