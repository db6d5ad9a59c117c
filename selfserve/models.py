"""The database tables, as typed SQLAlchemy 2.0 mappings.

Full phone numbers are stored only where the app must text the customer back (the directory,
opt-outs, the outbox); the message log keeps a masked number and the pseudonymous customer id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime, TypeDecorator


def utcnow() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every table; the naming convention gives Alembic stable constraint names."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON()}


class Campaign(Base):
    """A campaign as imported: the whole validated definition, plus what queries need."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)
    definition: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Keyword(Base):
    """A word customers text; each belongs to exactly one campaign."""

    __tablename__ = "keywords"

    keyword: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))


class Customer(Base):
    """The imported customer directory: a phone number and the brand's own customer id."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[str] = mapped_column(String(128), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    birthday: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundMessage(Base):
    """One received text: claimed by MessageSid before any work, then its outcome and reply."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    phone_masked: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(128), index=True)
    to_number: Mapped[str | None] = mapped_column(String(32))
    keyword: Mapped[str | None] = mapped_column(String(64))
    campaign_slug: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="processing")
    outcome: Mapped[str | None] = mapped_column(String(32), index=True)
    reply: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)


class IssuedCoupon(Base):
    """A code Talon.One gave us for one identifier: asked for once, kept for good."""

    __tablename__ = "issued_coupons"
    __table_args__ = (UniqueConstraint("campaign_slug", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_slug: Mapped[str] = mapped_column(String(64))
    identifier: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    code: Mapped[str] = mapped_column(String(128))
    talon_coupon_id: Mapped[int | None] = mapped_column(BigInteger)  # Talon.One ids grow
    starts_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)


class OptOut(Base):
    """A number that texted STOP. Opting back in keeps the row with `opted_out` false."""

    __tablename__ = "opt_outs"

    phone_e164: Mapped[str] = mapped_column(String(16), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(String(32), default="keyword")


class OutboundMessage(Base):
    """Every text we send ourselves (not TwiML replies): through Twilio or the sandbox outbox."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_messages_to_created", "to_e164", "created_at"),
        Index("ix_outbound_messages_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    to_e164: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(16))
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[int | None]
    campaign_slug: Mapped[str | None] = mapped_column(String(64))
    # The outbox (selfserve/outbox.py): a text is recorded under its dedupe key before it is
    # sent, so it goes out at most once per key; attempts/lease let a restarted worker resume.
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    detail: Mapped[str | None] = mapped_column(Text)


class DeferredCode(Base):
    """A coupon owed to a customer whom Talon.One could not serve in time: sent later by SMS.

    One row per campaign and identifier, so texting again during an outage owes one code,
    not several. The worker claims a row by its `attempts` counter (a stale copy of a job
    finds the counter moved on and stops) and a lease, which a restarted worker waits out.
    """

    __tablename__ = "deferred_codes"
    __table_args__ = (
        UniqueConstraint("campaign_slug", "identifier"),
        Index("ix_deferred_codes_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    message_sid: Mapped[str] = mapped_column(String(64))
    campaign_slug: Mapped[str] = mapped_column(String(64))
    identifier: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[str] = mapped_column(String(128))
    phone_e164: Mapped[str] = mapped_column(String(16))
    keyword: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    outbound_id: Mapped[int | None]
    detail: Mapped[str | None] = mapped_column(Text)


class ConsentRecord(Base):
    """One event in a number's marketing-consent history; never updated or deleted.

    The current state of a number is its newest record. A revoke is a new record, so the trail
    shows who agreed to what wording, when, how and from where.
    """

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_phone_recorded", "phone_e164", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # consented | pending | revoked
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    method: Mapped[str] = mapped_column(String(16))  # import | keyword | web
    campaign_slug: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    wording: Mapped[str] = mapped_column(Text)


class ConsoleUser(Base):
    """A marketer who may log in to the console; only an argon2 hash of the password is kept."""

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class PhoneVerification(Base):
    """A one-time code sent to prove a landing-page visitor owns a number.

    Only an HMAC of the code is kept. `token` is the random handle the visitor's session holds,
    so the number never travels in a URL. Rows are purged a day after they are created.
    """

    __tablename__ = "phone_verifications"
    __table_args__ = (
        Index("ix_phone_verifications_phone_campaign", "phone_e164", "campaign_slug"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    campaign_slug: Mapped[str] = mapped_column(String(64))
    phone_e164: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]
    # The visitor ticked "Send me offers by SMS" on the number form: consent is recorded
    # once this code is confirmed, never before (selfserve.customers.consent.record_web_consent).
    wants_offers: Mapped[bool] = mapped_column(default=False, server_default=false())


class LandingVisit(Base):
    """How many times a campaign's landing page was opened, per poster location and day."""

    __tablename__ = "landing_visits"

    campaign_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)  # "" = no src
    day: Mapped[date] = mapped_column(primary_key=True)
    visits: Mapped[int] = mapped_column(default=0)


# --- Journeys: competitions, birthdays, loyalty points for taking part (issue 6) -------------


class CompetitionEntry(Base):
    """One customer's entry in a competition; the UNIQUE pair makes a second text a no-op.

    The full number is kept because winners are texted; exports mask it unless revealed.
    """

    __tablename__ = "competition_entries"
    __table_args__ = (
        UniqueConstraint("campaign_slug", "customer_id", name="uq_competition_entries_customer"),
        UniqueConstraint("campaign_slug", "entry_number", name="uq_competition_entries_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_slug: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(128))
    phone_e164: Mapped[str] = mapped_column(String(16))
    entry_number: Mapped[int]
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    message_sid: Mapped[str | None] = mapped_column(String(64))


class CompetitionCounter(Base):
    """The last entry number given in a competition; its row lock hands out numbers in turn."""

    __tablename__ = "competition_counters"

    campaign_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_entry_number: Mapped[int] = mapped_column(default=0)


class CompetitionDraw(Base):
    """One draw of winners: how many, among how many entries, and how (seed for a redraw)."""

    __tablename__ = "competition_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_slug: Mapped[str] = mapped_column(String(64), index=True)
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
    winners_requested: Mapped[int]
    entries_count: Mapped[int]
    method: Mapped[str] = mapped_column(String(32))
    seed: Mapped[str | None] = mapped_column(String(200))


class CompetitionWinner(Base):
    """An entry drawn in a draw, in the order it was drawn."""

    __tablename__ = "competition_winners"
    __table_args__ = (
        UniqueConstraint("draw_id", "entry_id", name="uq_competition_winners_entry"),
        UniqueConstraint("draw_id", "position", name="uq_competition_winners_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("competition_draws.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("competition_entries.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]


class BirthdaySend(Base):
    """A birthday coupon for one customer, campaign and year: the ledger of who got one, and
    the record of texts still owed (so a job lost with a killed worker is found again)."""

    __tablename__ = "birthday_sends"
    __table_args__ = (
        UniqueConstraint("campaign_slug", "customer_id", "year", name="uq_birthday_sends_year"),
        Index("ix_birthday_sends_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_slug: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(128))
    year: Mapped[int]
    sent_for: Mapped[date]
    state: Mapped[str] = mapped_column(String(16))
    identifier: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[str | None] = mapped_column(Text)
    # While the text is owed (state `queued`): when the worker should try, and how often
    # Talon.One has failed it so far (for the backoff).
    next_attempt_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0)


class BirthdayRun(Base):
    """The scheduler's run of one birthday campaign for one local date (at most one each)."""

    __tablename__ = "birthday_runs"
    __table_args__ = (UniqueConstraint("campaign_slug", "run_date", name="uq_birthday_runs_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_slug: Mapped[str] = mapped_column(String(64))
    run_date: Mapped[date]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoyaltyAward(Base):
    """Points given (or being given) to a customer for taking part in a campaign: once each.

    The row is claimed before the Talon.One call and marked after it, so a retry or a second
    process never posts the points twice.
    """

    __tablename__ = "loyalty_awards"
    __table_args__ = (
        UniqueConstraint("campaign_slug", "customer_id", name="uq_loyalty_awards_customer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_slug: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(128))
    loyalty_program_id: Mapped[int]
    points: Mapped[float]
    state: Mapped[str] = mapped_column(String(16))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    awarded_at: Mapped[datetime | None]
    detail: Mapped[str | None] = mapped_column(Text)
