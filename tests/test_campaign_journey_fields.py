"""The campaigns file's journey fields: competition and birthday actions, times, award_points."""

from __future__ import annotations

import pytest

from selfserve.campaigns import import_campaigns, parse_campaigns_file, validate_campaign
from selfserve.errors import CampaignFileError

COMPETITION = {"slug": "bike", "name": "Win a bike", "keywords": ["BIKE"], "action": "competition"}
BIRTHDAY = {
    "slug": "bday",
    "name": "Birthday",
    "action": "birthday",
    "application_id": 1,
    "campaign_id": 2,
}


def problems_of(raw):
    spec, problems = validate_campaign(raw, raw.get("slug", "?"))
    assert (spec is None) == bool(problems)
    return problems


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {**COMPETITION, "opens_at": "next tuesday"},
            "campaign bike, field opens_at: must be a date or date-time",
        ),
        (
            {**COMPETITION, "opens_at": "2026-04-01", "closes_at": "2026-03-01"},
            "campaign bike, field closes_at: must be after opens_at",
        ),
        ({**COMPETITION, "timezone": "Mars/Olympus"}, "field timezone: must be a time zone name"),
        (
            {**COMPETITION, "also_coupon": True},
            "campaign bike, field application_id: is required with also_coupon = true",
        ),
        (
            {**COMPETITION, "reply": "Entry {entry_number}, code {code}"},
            "field reply: unknown placeholder {code}",
        ),
        (
            {**COMPETITION, "reply": "Closes {closes}"},
            "field reply: unknown placeholder {closes}",  # no closes_at to show
        ),
        (
            {**COMPETITION, "already_entered_reply": "You have {balance}"},
            "field already_entered_reply: unknown placeholder {balance}",
        ),
        (
            {**COMPETITION, "winner_message": "Won with {code}"},
            "field winner_message: unknown placeholder {code}",
        ),
        (
            {**COMPETITION, "award_points": 10},
            "field loyalty_program_id: is required with award_points",
        ),
        (
            {**COMPETITION, "award_points": 0, "loyalty_program_id": 7},
            "field award_points: must be more than 0",
        ),
        ({**COMPETITION, "award_points": True}, "field award_points: must be"),
        ({**COMPETITION, "send_at": "09:00"}, "field send_at: only applies to birthday campaigns"),
        (
            {**BIRTHDAY, "closes_at": "2026-03-01"},
            "field closes_at: only applies to competition campaigns",
        ),
        ({**BIRTHDAY, "send_at": "9am"}, "field send_at: must be a local time such as 09:00"),
        ({**BIRTHDAY, "send_at": "24:00"}, "field send_at: must be a local time"),
        (
            {**BIRTHDAY, "identifier": "{customer_id}:{campaign_id}"},
            "field identifier: must contain {year}",
        ),
        ({**BIRTHDAY, "reply": "Happy birthday! {keyword}"}, "unknown placeholder {keyword}"),
        (
            {"slug": "bday", "name": "Birthday", "action": "birthday"},
            "campaign bday, field application_id: is required",
        ),
        (
            {**COMPETITION, "action": "raffle"},
            "field action: must be one of coupon, loyalty, subscribe, competition, birthday",
        ),
    ],
)
def test_bad_journey_fields_are_named_with_their_campaign(raw, expected):
    problems = problems_of(raw)
    assert any(expected in problem for problem in problems), problems


def test_a_birthday_campaign_gets_the_yearly_identifier_and_default_send_time():
    spec, problems = validate_campaign(BIRTHDAY, "bday")
    assert problems == []
    assert spec.identifier == "{customer_id}:{campaign_id}:{year}"
    assert spec.reply.startswith("Happy birthday from {name}! Your gift code: {code}")


def test_a_competition_with_also_coupon_defaults_to_a_reply_with_the_code():
    spec, problems = validate_campaign(
        {**COMPETITION, "also_coupon": True, "application_id": 1, "campaign_id": 2}, "bike"
    )
    assert problems == []
    assert "{entry_number}" in spec.reply
    assert "{code}" in spec.reply


def test_toml_times_are_stored_as_text_and_re_import_is_a_no_op(app):
    text = """
[[campaign]]
slug = "bike"
name = "Win a bike"
keywords = ["BIKE"]
action = "competition"
opens_at = 2026-03-01T09:00:00+11:00
closes_at = 2026-03-31
timezone = "Australia/Sydney"
reply = "Entry {entry_number} - draw after {closes:%d %b}"

[[campaign]]
slug = "bday"
name = "Birthday"
action = "birthday"
application_id = 1
campaign_id = 2
send_at = 08:30:00
"""
    (bike, bday) = parse_campaigns_file(text)
    spec, problems = validate_campaign(bike, "bike")
    assert problems == []
    assert spec.option("opens_at") == "2026-03-01T09:00:00+11:00"
    assert spec.option("closes_at") == "2026-03-31"
    birthday, problems = validate_campaign(bday, "bday")
    assert birthday.option("send_at") == "08:30"
    services = app.extensions["selfserve"]
    with services.writes.begin() as db:
        first = import_campaigns(db, text)
    with services.writes.begin() as db:
        again = import_campaigns(db, text)
    assert sorted(first.created) == ["bday", "bike"]
    assert sorted(again.unchanged) == ["bday", "bike"]


def test_an_exported_file_imports_unchanged(app, runner, tmp_path):
    source = tmp_path / "campaigns.toml"
    source.write_text(
        """
[[campaign]]
slug = "bike"
name = "Win a bike"
keywords = ["BIKE"]
action = "competition"
closes_at = 2026-03-31T23:59:00
also_coupon = true
application_id = 1
campaign_id = 2
award_points = 5
loyalty_program_id = 7
closed_reply = "Closed on {closes:%d %b}."
"""
    )
    assert runner.invoke(args=["campaigns", "import", str(source)]).exit_code == 0
    exported = tmp_path / "exported.toml"
    assert runner.invoke(args=["campaigns", "export", str(exported)]).exit_code == 0
    result = runner.invoke(args=["campaigns", "import", str(exported)])
    assert result.exit_code == 0, result.output
    assert "0 created, 0 updated, 4 unchanged" in result.output


def test_a_file_with_one_bad_journey_campaign_imports_nothing(app):
    text = """
[[campaign]]
slug = "ok"
name = "Fine"
keywords = ["FINE"]
action = "competition"

[[campaign]]
slug = "bad"
name = "Bad"
action = "birthday"
"""
    services = app.extensions["selfserve"]
    with pytest.raises(CampaignFileError) as raised, services.writes.begin() as db:
        import_campaigns(db, text)
    assert any("campaign bad, field application_id" in p for p in raised.value.problems)
