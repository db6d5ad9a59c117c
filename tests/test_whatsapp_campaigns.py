"""`campaigns import` and a campaign's WhatsApp Content template: sid, variables, the code."""

from __future__ import annotations

import pytest

SID = "HX" + "0123456789abcdef" * 2
CAMPAIGN = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING"]
application_id = 12
campaign_id = 34
{fields}
"""


def import_file(runner, tmp_path, fields: str):
    source = tmp_path / "campaigns.toml"
    source.write_text(CAMPAIGN.format(fields=fields))
    return runner.invoke(args=["campaigns", "import", str(source)])


def test_a_template_with_its_code_variable_imports_and_exports_again(runner, tmp_path):
    variables = 'whatsapp_variables = {"1" = "{first_name}", "2" = "{code}"}'
    fields = f'whatsapp_template = "{SID}"\n{variables}'
    assert import_file(runner, tmp_path, fields).exit_code == 0
    exported = tmp_path / "exported.toml"
    assert runner.invoke(args=["campaigns", "export", str(exported)]).exit_code == 0
    assert SID in exported.read_text()
    result = runner.invoke(args=["campaigns", "import", str(exported)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        (
            f'whatsapp_template = "{SID}"\nwhatsapp_variables = {{"1" = "{{first_name}}"}}',
            "must carry the code",
        ),
        (f'whatsapp_template = "{SID}"', "must list every variable"),
        (f'whatsapp_template = "{SID}"\nwhatsapp_variables = {{}}', "must list every variable"),
        (
            'whatsapp_template = "HX123"\nwhatsapp_variables = {"1" = "{code}"}',
            "HX and 32 hex characters",
        ),
        (
            'whatsapp_template = "MG' + "0" * 32 + '"\nwhatsapp_variables = {"1" = "{code}"}',
            "HX and 32 hex characters",
        ),
        ('whatsapp_variables = {"1" = "{code}"}', "is required with whatsapp_variables"),
        (
            f'whatsapp_template = "{SID}"\nwhatsapp_variables = {{"1" = "{{code}} {{price}}"}}',
            "unknown placeholder {price}",
        ),
        (f'whatsapp_template = "{SID}"\nwhatsapp_variables = {{"1" = ""}}', "needs a name"),
    ],
)
def test_a_bad_template_is_refused_with_a_reason(runner, tmp_path, fields, complaint):
    result = import_file(runner, tmp_path, fields)
    assert result.exit_code != 0
    assert complaint in result.output


def test_a_template_on_a_loyalty_campaign_is_refused(runner, tmp_path):
    source = tmp_path / "campaigns.toml"
    source.write_text(
        f"""
[[campaign]]
slug = "points"
name = "Points"
keywords = ["PTS"]
action = "loyalty"
loyalty_program_id = 7
whatsapp_template = "{SID}"
whatsapp_variables = {{"1" = "{{code}}"}}
"""
    )
    result = runner.invoke(args=["campaigns", "import", str(source)])
    assert result.exit_code != 0
    assert "whatsapp_template: only applies to" in result.output
