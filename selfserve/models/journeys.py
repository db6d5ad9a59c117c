"""Journey tables: competitions, birthdays and loyalty points for taking part (issue 6)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selfserve.models.base import Base, utcnow


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
