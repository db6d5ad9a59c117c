"""Competitions: entering by text, opening and closing times, races, draws, notices, export.

This conftest holds what the test modules beside it share.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from selfserve.campaigns import validate_campaign
from selfserve.journeys import (
    enter_competition,
)
from selfserve.models import CompetitionEntry
from tests.conftest import (
    import_campaigns_text,
)

WEBHOOK = "/webhooks/twilio/sms"


COMPETITION = """
[[campaign]]
slug = "bike"
name = "Win a bike"
keywords = ["BIKE"]
action = "competition"
closes_at = "{closes}"
reply = "You're in! Entry {{entry_number}}. Draw after {{closes:%d %b %Y}}."
already_entered_reply = "Already in with entry {{entry_number}}."
winner_message = "You won {{name}}, entry {{entry_number}}!"
"""


def far_future() -> str:
    return (datetime.now(UTC) + timedelta(days=30)).isoformat(timespec="seconds")


@pytest.fixture
def competition_app(app):
    import_campaigns_text(app, COMPETITION.format(closes=far_future()))
    return app


def entries(app, slug="bike"):
    with app.extensions["selfserve"].sessions() as db:
        return db.execute(
            select(CompetitionEntry.entry_number, CompetitionEntry.customer_id)
            .where(CompetitionEntry.campaign_slug == slug)
            .order_by(CompetitionEntry.entry_number)
        ).all()


def competition_spec(**fields):
    raw = {"slug": "bike", "name": "Win a bike", "keywords": ["BIKE"], "action": "competition"}
    raw.update(fields)
    spec, problems = validate_campaign(raw, "bike")
    assert problems == []
    return spec


def enter_many(app, count: int, slug: str = "bike") -> None:
    with app.extensions["selfserve"].writes.begin() as db:
        for index in range(count):
            enter_competition(
                db, slug, f"C{index:03d}", f"+614915702{index:02d}", now=datetime.now(UTC)
            )
