"""`campaigns import` keeps keywords apart: from reserved words, and from each other's typos."""

from __future__ import annotations

import pytest

from tests.test_campaigns import stored, write

SPRINT = """
[[campaign]]
slug = "sprint"
name = "Sprint"
keywords = ["{keyword}"]
action = "coupon"
application_id = 12
campaign_id = 56
{extra}
"""


def campaign(slug: str, keyword: str, extra: str = "") -> str:
    return SPRINT.replace('"sprint"', f'"{slug}"').format(keyword=keyword, extra=extra)


def test_two_fuzzy_keywords_one_edit_apart_are_refused_naming_both(app, runner, tmp_path):
    text = campaign("spring2", "SPRINGS") + campaign("sprint", "SPRINT") + campaign("x", "SPRINK")
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, text)])
    assert result.exit_code == 1
    assert "SPRINT is one edit from SPRINK" in result.output
    assert "x" not in stored(app)


def test_a_fuzzy_keyword_one_edit_from_a_stored_campaigns_keyword_is_refused(app, runner, tmp_path):
    # The conftest's book already holds SPRING (fuzzy).
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, campaign("s", "SPRINT"))])
    assert result.exit_code == 1
    assert "SPRINT is one edit from SPRING of campaign spring" in result.output


def test_one_of_them_exact_only_may_sit_beside_it(app, runner, tmp_path):
    text = campaign("sprint", "SPRINT", "fuzzy = false")
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, text)])
    assert result.exit_code == 0, result.output
    assert stored(app)["sprint"]["fuzzy"] is False


@pytest.mark.parametrize(
    ("keyword", "reserved"),
    [
        ("STOPS", "STOP"),
        ("SHOP", "STOP"),
        ("HELPS", "HELP"),
        ("ARRETS", "ARRET"),
        ("ALTOS", "ALTO"),
    ],
)
def test_a_keyword_one_edit_from_a_reserved_word_is_refused(
    app, runner, tmp_path, keyword, reserved
):
    text = campaign("near", keyword, "fuzzy = false")
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, text)])
    assert result.exit_code == 1
    assert f"{keyword} is one letter away from the reserved word {reserved}" in result.output


@pytest.mark.parametrize("keyword", ["ARRET", "AYUDA", "HILFE"])
def test_other_languages_reserved_words_are_never_keywords(app, runner, tmp_path, keyword):
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, campaign("w", keyword))])
    assert result.exit_code == 1
    assert f"{keyword} is reserved" in result.output


def test_a_campaign_language_must_be_supported(app, runner, tmp_path):
    text = campaign("lang", "LANGUE", 'language = "xx"')
    result = runner.invoke(args=["campaigns", "import", write(tmp_path, text)])
    assert result.exit_code == 1
    assert "field language: must be one of en, fr" in result.output
