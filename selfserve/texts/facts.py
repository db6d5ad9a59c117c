"""The fast path's one read: what the database says about a text, right now.

One statement answers, for a number, a MessageSid and a campaign: whether the MessageSid was
seen (and its first answer), whether the number opted out, the directory's customer id and
first name, the codes already issued to the customer in the campaign, whether they hold any
code at all, and whether one is owed to them in the campaign.

On PostgreSQL the reads of texts arriving together are answered by one statement
(ops.GroupedReads: the texts' parameters as arrays, unnested and joined to the same tables),
so a stadium's texts cost a round trip per group, not per text. SQLite is in-process: no
round trip to save, and under gevent no other text runs while it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from selfserve.ops import GroupedReads, SetAsideConnections

# One statement, six index lookups (customers.phone_e164, opt_outs' key,
# inbound_messages.message_sid and deferred_codes (campaign, identifier) are unique;
# issued_coupons is indexed by customer_id): the same plan at 10k or 10M rows, and one round
# trip. A customer has at most a few codes per campaign (one per identifier: per year, per
# keyword...); the caller picks the one for its identifier. Whether the customer holds any
# code at all spares a new customer's claim the daily caps' counts. A code still owed by SMS (the
# worker stored it and has not texted it yet) goes to the slow path, which settles it; so does
# a new customer with a code owed in the campaign (deferred_codes is indexed by customer_id,
# and that is the one condition the index could serve: with `state = 'pending'` beside it,
# SQLite searched the state index, every owed code of a stadium per text), and a
# NewCustomer's claim need not ask again whether its code is owed as a referral's.
# The columns both statements answer, in the order `_facts_of` reads them.
_COLUMNS = (
    "c.customer_id, c.first_name, COALESCE(o.opted_out, e.opted_out), m.state, "
    "ic.identifier, ic.code, ic.expires_at, ic.starts_at, dc.id, m.reply, m.outcome, ic.warm, "
)
_FACTS_SQL = (
    "SELECT " + _COLUMNS + "EXISTS (SELECT 1 FROM issued_coupons AS any_code "  # noqa: S608 - constants
    "WHERE any_code.customer_id = COALESCE(c.customer_id, :pseudonym)), "
    "COALESCE((SELECT max(owed.campaign_slug = :slug AND owed.state = 'pending') "
    "FROM deferred_codes AS owed "
    "WHERE owed.customer_id = COALESCE(c.customer_id, :pseudonym)), 0) "
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


@dataclass(frozen=True)
class KnownCode:
    """A code already issued, as the reply template needs it."""

    code: str
    expires_at: datetime | None
    starts_at: datetime | None
    owed: bool = False  # also owed by SMS: the slow path must settle it (no second text)
    warm: bool = False  # fetched ahead by a warm-up, not asked for until this text


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


class FactReader:
    """The fast path's one read, on a few connections set aside for it (see
    database.SetAsideConnections: no pool check-out, ping or reset per text); on PostgreSQL
    in groups of texts that arrive together (`leaders`: groups in flight at once)."""

    def __init__(self, connections: SetAsideConnections, postgres: bool, leaders: int = 1) -> None:
        # One group in flight per worker measured best (bench/README.md, scenario 4).
        self._connections = connections
        self._groups: GroupedReads | None = None
        if postgres:
            self._groups = GroupedReads(self._read_group, leaders=leaders, most=GROUP_MOST)

    def facts(
        self, phone: str, message_sid: str, campaign_slug: str, pseudonym: str, erased: str
    ) -> Facts:
        """Read the facts in one statement (`erased`: the number's erasure key, whose opt-out
        outlives an erased person)."""
        if self._groups is not None:
            return _facts_of(
                self._groups.read((phone, message_sid, campaign_slug, pseudonym, erased))
            )
        parameters = {"phone": phone, "sid": message_sid, "slug": campaign_slug}
        parameters |= {"pseudonym": pseudonym, "erased": erased}
        return _facts_of(self._connections.run(_FACTS_SQL, parameters))

    def _read_group(self, keys: Sequence[tuple[str, ...]]) -> list[list[Any]]:
        """Each key's rows, read in one statement (its first column is the key's place)."""
        columns = [list(values) for values in zip(*keys, strict=True)]
        placed: list[list[Any]] = [[] for _ in keys]
        for row in self._connections.run(_GROUPED_SQL, columns):
            placed[row[0] - 1].append(row[1:])  # ORDINALITY counts from 1
        return placed


def _facts_of(rows: Sequence[Any]) -> Facts:
    first = rows[0]
    return Facts(
        customer_id=first[0],
        first_name=first[1],
        opted_out=bool(first[2]),
        seen=first[3] is not None,
        answered=AnsweredBefore(first[9], first[10] or "duplicate") if first[3] == "done" else None,
        codes={
            row[4]: KnownCode(row[5], _utc(row[6]), _utc(row[7]), row[8] is not None, bool(row[11]))
            for row in rows
            if row[4] is not None
        },
        any_code=bool(first[12]),
        owed_here=bool(first[13]),
    )


GROUP_MOST = 32  # reads answered by one statement at most

# PostgreSQL's statement for a group of texts: the same facts, for each text of the group
# (their parameters come as one array each, in `facts`' order, so one statement serves every
# group size and is planned once). Each lookup is a LATERAL subquery fenced by OFFSET 0 whose
# only indexable condition is the one its index is for, so it stays that index lookup whatever
# the statistics say. Joined as plain tables, a plan made while inbound_messages was nearly
# empty (a fresh deployment) read the whole table for every group once it had grown (the cost
# per text went from 65 us to 850 us), and with `state = 'pending'` as an index condition an
# empty deferred_codes could be searched by state: every owed code of a stadium, per text.
_GROUPED_SQL = (
    "SELECT q.n, " + _COLUMNS + "EXISTS (SELECT 1 FROM issued_coupons AS any_code "  # noqa: S608
    "WHERE any_code.customer_id = COALESCE(c.customer_id, q.pseudonym) OFFSET 0), "
    "COALESCE((SELECT bool_or(owed.campaign_slug = q.slug AND owed.state = 'pending') "
    "FROM deferred_codes AS owed "
    "WHERE owed.customer_id = COALESCE(c.customer_id, q.pseudonym) OFFSET 0), false) "
    "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) "
    "WITH ORDINALITY AS q (phone, sid, slug, pseudonym, erased, n) "
    "LEFT JOIN LATERAL (SELECT customer_id, first_name FROM customers "
    "WHERE phone_e164 = q.phone OFFSET 0) AS c ON true "
    "LEFT JOIN LATERAL (SELECT opted_out FROM opt_outs "
    "WHERE phone_e164 = q.phone OFFSET 0) AS o ON true "
    "LEFT JOIN LATERAL (SELECT opted_out FROM opt_outs "
    "WHERE phone_e164 = q.erased OFFSET 0) AS e ON true "
    "LEFT JOIN LATERAL (SELECT state, reply, outcome FROM inbound_messages "
    "WHERE message_sid = q.sid OFFSET 0) AS m ON true "
    "LEFT JOIN LATERAL (SELECT campaign_slug, identifier, code, expires_at, starts_at, warm "
    "FROM issued_coupons WHERE customer_id = COALESCE(c.customer_id, q.pseudonym) OFFSET 0) "
    "AS ic ON ic.campaign_slug = q.slug "
    "LEFT JOIN LATERAL (SELECT CASE WHEN state = 'pending' THEN id END AS id "
    "FROM deferred_codes WHERE campaign_slug = ic.campaign_slug "
    "AND identifier = ic.identifier OFFSET 0) AS dc ON true"
)


def _utc(value: Any) -> datetime | None:
    """A timestamp as the ORM would give it: SQLite keeps text without a zone (UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
