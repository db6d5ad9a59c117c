"""Journeys: birthdays, competitions and loyalty points for taking part.

Owns the birthday runs and texts, competition entries, draws, winner notices and export,
and the once-per-customer `award_points`. They claim coupons through `coupons` and send
texts through the outbox. It may import `coupons` and everything below it (`campaigns`,
`sms`, `customers`, `talon`, `ops`, `models`, `errors`), never `texts`, `landing` or the
queue.
"""

from selfserve.journeys.birthday_records import (
    ALREADY_SENT,
    QUEUED,
    WOULD_SEND,
    BirthdayReport,
    birthday_dates,
    claim_birthday_run,
    due_birthday_runs,
    is_birthday,
)
from selfserve.journeys.birthdays import Birthdays
from selfserve.journeys.competitions import (
    CLOSED,
    ENTERED,
    NOT_OPEN,
    CompetitionError,
    answer_competition_text,
    answer_journey_text,
    enter_competition,
    entry_reply,
)
from selfserve.journeys.draws import (
    competition_summaries,
    draw_winners,
    export_entries,
    notify_winners,
    pick_winners,
)
from selfserve.journeys.loyalty import RETRY, Awards, award_points_once
from selfserve.journeys.referrals import (
    Redemption,
    RedemptionRefused,
    Referrals,
    give_place_back,
)

__all__ = [
    "ALREADY_SENT",
    "Awards",
    "BirthdayReport",
    "Birthdays",
    "CLOSED",
    "CompetitionError",
    "ENTERED",
    "NOT_OPEN",
    "QUEUED",
    "RETRY",
    "Redemption",
    "RedemptionRefused",
    "Referrals",
    "WOULD_SEND",
    "answer_competition_text",
    "answer_journey_text",
    "award_points_once",
    "birthday_dates",
    "claim_birthday_run",
    "competition_summaries",
    "draw_winners",
    "due_birthday_runs",
    "enter_competition",
    "entry_reply",
    "export_entries",
    "give_place_back",
    "is_birthday",
    "notify_winners",
    "pick_winners",
]
