"""`campaigns import` / `campaigns export`: validation, atomicity, idempotency."""

from __future__ import annotations

import tomllib

import pytest
from sqlalchemy import select

from selfserve.models import Campaign, Keyword

GOOD = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING", "bloom"]
action = "coupon"
application_id = 12
campaign_id = 34
external_campaign_id = "sms-spring"
reply = "Your Spring code: {code} (valid until {expiry:%d %b})"
"""


def write(tmp_path, text: str, name: str = "campaigns.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def stored(app) -> dict[str, dict]:
    with app.extensions["selfserve"].sessions() as db:
        return {row.slug: row.definition for row in db.scalars(select(Campaign))}


def test_importing_a_good_file_stores_its_campaigns_and_keywords(app, runner, tmp_path):
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, GOOD)])
    assert result.exit_code == 0, result.output
    assert "1 updated" in result.output
    assert stored(app)["spring"]["keywords"] == ["SPRING", "BLOOM"]
    with app.extensions["selfserve"].sessions() as db:
        owners = {k.keyword for k in db.scalars(select(Keyword))}
    assert {"SPRING", "BLOOM", "POINTS"} <= owners


def test_re_importing_the_same_file_changes_nothing(app, runner, tmp_path):
    path = write(tmp_path, GOOD)
    runner.invoke(args=["campaigns", "import", path])
    before = stored(app)
    result = runner.invoke(args=["campaigns", "import", path])
    assert result.exit_code == 0
    assert "0 created, 0 updated, 1 unchanged" in result.output
    assert stored(app) == before


def test_every_problem_is_reported_with_campaign_and_field_and_nothing_changes(
    app, runner, tmp_path
):
    before = stored(app)
    bad = (
        GOOD
        + """
[[campaign]]
slug = "Bad Slug"
name = "Broken"
keywords = ["STOP", "two words"]
action = "coupon"
campaign_id = "34"
identifier = "{phone}"
reply = "Code {coupon}"
colour = "red"

[[campaign]]
slug = "loyal"
name = "Loyal"
action = "loyalty"
"""
    )
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, bad)])
    assert result.exit_code != 0
    output = result.output
    for expected in [
        "campaign Bad Slug, field colour: unknown field",
        "campaign Bad Slug, field application_id: is required",
        "campaign Bad Slug, field campaign_id: must be a whole number",
        "campaign loyal, field loyalty_program_id: is required",
    ]:
        assert expected in output
    assert stored(app) == before


def test_semantic_problems_are_all_reported(runner, tmp_path):
    bad = """
[[campaign]]
slug = "Bad Slug"
name = "Broken"
keywords = ["STOP", "two words", "OK", "ok"]
application_id = 1
campaign_id = 2
identifier = "{phone}"
reply = "Code {coupon}"
brand_colour = "red"
"""
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, bad)])
    assert result.exit_code == 1
    for expected in [
        "field slug: use lower-case letters",
        "field keywords: STOP is reserved",
        "field keywords: 'two words' must be one word",
        "field keywords: OK is listed twice",
        "field identifier: unknown placeholder {phone}",
        "field identifier: must contain {customer_id}",
        "field reply: unknown placeholder {coupon}",
        "field brand_colour: must be a colour",
    ]:
        assert expected in result.output


def test_a_keyword_owned_by_another_campaign_in_the_database_is_refused(app, runner, tmp_path):
    other = GOOD.replace('slug = "spring"', 'slug = "autumn"').replace('"bloom"', '"POINTS"')
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, other)])
    assert result.exit_code == 1
    assert "field keywords: POINTS is already used by points" in result.output
    assert "autumn" not in stored(app)


def test_a_keyword_used_twice_in_one_file_is_refused(runner, tmp_path):
    twice = GOOD + GOOD.replace('slug = "spring"', 'slug = "autumn"')
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, twice)])
    assert result.exit_code == 1
    assert "SPRING is already used by spring" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("this is not toml = = =", "not valid TOML"),
        ("[campaign]\nslug = 'x'", "campaigns must be [[campaign]] tables"),
        ("[other]\nx = 1", "unknown top-level table 'other'"),
    ],
)
def test_a_broken_file_is_a_clear_error(runner, tmp_path, text, expected):
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, text)])
    assert result.exit_code == 1
    assert expected in result.output


def test_a_missing_file_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(args=["campaigns", "import", str(tmp_path / "nope.toml")])
    assert result.exit_code != 0
    assert "no such file" in result.output
    assert "Traceback" not in result.output


def test_smart_quotes_and_dashes_become_gsm_characters(app, runner, tmp_path):
    smart = GOOD.replace("Your Spring code:", "Here\u2019s your \u201cSpring\u201d code \u2014")
    runner.invoke(args=["campaigns", "import", write(tmp_path, smart)])
    assert stored(app)["spring"]["reply"].startswith('Here\'s your "Spring" code -')


def test_a_long_reply_is_warned_about(runner, tmp_path):
    long_reply = GOOD.replace("Your Spring code:", "Lovely " * 50)
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, long_reply)])
    assert result.exit_code == 0
    assert "warning: campaign spring, field reply" in result.output
    assert "segment" in result.output


def test_export_round_trips_through_import(app, runner, tmp_path):
    runner.invoke(args=["campaigns", "import", write(tmp_path, GOOD)])
    exported = tmp_path / "exported.toml"
    assert runner.invoke(args=["campaigns", "export", str(exported)]).exit_code == 0
    tables = tomllib.loads(exported.read_text())["campaign"]
    assert {t["slug"] for t in tables} == {"spring", "points", "broken"}
    again = runner.invoke(args=["campaigns", "import", str(exported)])
    assert "0 created, 0 updated, 3 unchanged" in again.output


def test_export_without_a_file_prints_the_campaigns(runner):
    result = runner.invoke(args=["campaigns", "export"])
    assert result.exit_code == 0
    assert tomllib.loads(result.output)["campaign"][0]["slug"] == "broken"


def test_the_demo_campaigns_file_imports(runner):
    result = runner.invoke(args=["campaigns", "import", "demo/campaigns.toml"])
    assert result.exit_code == 0, result.output
