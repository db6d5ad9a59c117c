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
stale.)

The message-log row is handed to MessageLogWriter, which writes it in a batch moments later.
Anything else — compliance words, unknown keywords, loyalty, a code not issued yet — returns
None and goes down the slow path, which claims the MessageSid durably before calling
Talon.One.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine

from selfserve.campaigns import CampaignBook, CampaignSpec
from selfserve.customers import (
    CONFIRM_WORDS,
    Identity,
    erasure_key,
    pseudonym,
    split_channel,
    to_e164_and_mask,
)
from selfserve.errors import InvalidPhoneNumber
from selfserve.ops import SetAsideConnections, write_turn
from selfserve.sms import ComplianceWords, first_word, normalise_body
from selfserve.texts.message_log import BatchInsert, MessageLogWriter

# One statement, six index lookups (customers.phone_e164, opt_outs' key,
# inbound_messages.message_sid and deferred_codes (campaign, identifier) are unique;
# issued_coupons is indexed by customer_id): the same plan at 10k or 10M rows, and one round
# trip. A customer has at most a few codes per campaign (one per identifier: per year, per
# keyword...); the caller picks the one for its identifier. Whether the customer holds any
# code at all spares a new customer's claim the daily caps' counts. A code still owed by SMS (the
# worker stored it and has not texted it yet) goes to the slow path, which settles it; so does
# a new customer with a code owed in the campaign (deferred_codes is indexed by customer_id),
# and a NewCustomer's claim need not ask again whether its code is owed as a referral's.
_FACTS_SQL = (
    "SELECT c.customer_id, c.first_name, COALESCE(o.opted_out, e.opted_out), m.state, "
    "ic.identifier, ic.code, ic.expires_at, ic.starts_at, dc.id, m.reply, m.outcome, ic.warm, "
    "EXISTS (SELECT 1 FROM issued_coupons AS any_code "
    "WHERE any_code.customer_id = COALESCE(c.customer_id, :pseudonym)), "
    "EXISTS (SELECT 1 FROM deferred_codes AS owed "
    "WHERE owed.customer_id = COALESCE(c.customer_id, :pseudonym) "
    "AND owed.campaign_slug = :slug AND owed.state = 'pending') "
    "FROM (SELECT 1 AS here) AS q "
    "LEFT JOIN customers AS c ON c.phone_e164 = :phone "
    "LEFT JOIN opt_outs AS o ON o.phone_e164 = :phone "
    "LEFT JOIN opt_outs AS e ON e.phone_e164 = :erased "
    "LEFT JOIN inbound_messages AS m ON m.message_sid = :sid "
    "LEFT JOIN issued_coupons AS ic ON ic.campaign_slug = :slug "
    "AND ic.customer_id = COALESCE(c.customer_id, :pseudonym) "
    "LEFT JOIN deferred_codes AS dc ON dc.campaign_slug = ic.campaign_slug "
    "AND dc.identifier = ic.identifier AND dc.state = 'pending'"
)
_PARAMETERS = ("phone", "sid", "slug", "pseudonym", "erased", "identifier")


@dataclass(frozen=True)
class Sender:
    """Twilio's `From`, read once: channel, E.164 number ("" when unreadable) and its mask."""

    channel: str
    phone: str
    masked: str


@lru_cache(maxsize=65536)
def read_sender(sender: str, default_region: str) -> Sender:
    """Parse and mask a `From` value (pure, so cached: returning numbers skip phonenumbers)."""
    channel, address = split_channel(sender)
    try:
        phone, masked = to_e164_and_mask(address, default_region)
    except InvalidPhoneNumber:
        return Sender(channel, "", "unknown")
    return Sender(channel, phone, masked)


@dataclass(frozen=True)
class KnownCode:
    """A code already issued, as the reply template needs it."""

    code: str
    expires_at: datetime | None
    starts_at: datetime | None
    owed: bool = False  # also owed by SMS: the slow path must settle it (no second text)
    warm: bool = False  # fetched ahead by a warm-up, not asked for until this text


@dataclass(frozen=True)
class ReturningText:
    """What the fast path found for a text: enough to render the reply without Talon.One."""

    campaign: CampaignSpec
    who: Identity
    keyword: str
    identifier: str
    code: KnownCode


@dataclass(frozen=True)
class AnsweredBefore:
    """A duplicate MessageSid whose first delivery is done: answer it the same way again."""

    reply: str | None
    outcome: str


@dataclass(frozen=True)
class Facts:
    """What the database says about a number, a MessageSid and a campaign's codes right now."""

    customer_id: str | None
    first_name: str | None
    opted_out: bool
    seen: bool
    answered: AnsweredBefore | None  # the first delivery's answer, once it is done
    codes: dict[str, KnownCode]  # identifier → code, this customer's codes in the campaign
    any_code: bool = True  # any code of any campaign (False: no daily cap can be reached)
    owed_here: bool = True  # a code owed by SMS in this campaign (False: none is)


@dataclass(frozen=True)
class NewCustomer:
    """The same read found no code yet, and none owed in the campaign: the slow path needs
    no further reads to start."""

    campaign: CampaignSpec
    who: Identity
    keyword: str
    identifier: str
    first_code: bool = False  # the customer holds no code of any campaign yet


class FactReader:
    """The fast path's one read, on a few connections set aside for it (see
    database.SetAsideConnections: no pool check-out, ping or reset per text)."""

    def __init__(self, connections: SetAsideConnections, postgres: bool) -> None:
        self._connections = connections
        self._sql = _paramstyle(_FACTS_SQL, postgres)

    def facts(
        self, phone: str, message_sid: str, campaign_slug: str, pseudonym: str, erased: str
    ) -> Facts:
        """Read the facts in one statement (`erased`: the number's erasure key, whose opt-out
        outlives an erased person)."""
        parameters = {"phone": phone, "sid": message_sid, "slug": campaign_slug}
        parameters["pseudonym"] = pseudonym
        parameters["erased"] = erased
        rows = self._connections.run(self._sql, parameters)
        first = rows[0]
        return Facts(
            customer_id=first[0],
            first_name=first[1],
            opted_out=bool(first[2]),
            seen=first[3] is not None,
            answered=AnsweredBefore(first[9], first[10] or "duplicate")
            if first[3] == "done"
            else None,
            codes={
                row[4]: KnownCode(
                    row[5], _utc(row[6]), _utc(row[7]), row[8] is not None, bool(row[11])
                )
                for row in rows
                if row[4] is not None
            },
            any_code=bool(first[12]),
            owed_here=bool(first[13]),
        )


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


def _paramstyle(sql: str, postgres: bool) -> str:
    """`:name` parameters as the driver wants them (psycopg: `%(name)s`)."""
    if postgres:
        for name in _PARAMETERS:
            sql = sql.replace(f":{name}", f"%({name})s")
    return sql


def _utc(value: Any) -> datetime | None:
    """A timestamp as the ORM would give it: SQLite keeps text without a zone (UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
