"""Birthday coupons: who is due on a date (leap years too), once a year, skips, dry runs, runs.

This conftest holds what the test modules beside it share.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from selfserve.campaigns import validate_campaign
from selfserve.models import BirthdaySend
from tests.conftest import import_campaigns_text

BIRTHDAY = """
[[campaign]]
slug = "bday"
name = "Acme birthday treat"
action = "birthday"
application_id = 12
campaign_id = 99
reply = "Happy birthday {first_name}! Your gift code: {code}"
"""


DIRECTORY = """phone,customer_id,first_name,birthday,sms_consent
0491 570 101,C-LEAP,Lea,1992-02-29,yes
+61491570102,C-28FEB,Feb,1985-02-28,yes
0491570103,C-1MAR,Mar,1985-03-01,yes
0491570104,C-NONE,Nobody,,yes
0491570105,C-STOP,Stopper,1970-02-28,yes
0491570106,C-LATER,Later,2030-02-28,yes
0491570107,C-NOCON,Noconsent,1980-02-28,
"""


NUMBERS = {
    "C-LEAP": "+61491570101",
    "C-28FEB": "+61491570102",
    "C-1MAR": "+61491570103",
    "C-STOP": "+61491570105",
    "C-NOCON": "+61491570107",
}


@pytest.fixture
def settings(settings):
    """Quiet hours off: the command runs at whatever time the suite does (TestQuietHours below
    controls the clock instead)."""
    return replace(settings, quiet_hours="off")


@pytest.fixture
def birthday_app(app, runner, tmp_path):
    import_campaigns_text(app, BIRTHDAY)
    directory = tmp_path / "customers.csv"
    directory.write_text(DIRECTORY)
    result = runner.invoke(args=["customers", "import", str(directory)])
    assert "7 imported" in result.output, result.output
    return app


def send(runner, day: str, *extra: str):
    return runner.invoke(args=["birthdays", "send", "--date", day, *extra])


def send_state(app) -> str | None:
    with app.extensions["selfserve"].sessions() as db:
        return db.scalar(select(BirthdaySend.state))


def texted(twilio_stand_in) -> list[str]:
    return sorted(message.to for message in twilio_stand_in.messages)


def birthday_spec(**fields):
    raw = {
        "slug": "bday",
        "name": "Birthday",
        "action": "birthday",
        "application_id": 1,
        "campaign_id": 2,
    }
    raw.update(fields)
    spec, problems = validate_campaign(raw, "bday")
    assert problems == []
    return spec
