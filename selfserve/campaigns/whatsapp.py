"""A campaign's WhatsApp Content template: checked on import, filled when a code goes out.

Meta lets us write free-form only within 24 hours of a person's last WhatsApp message; later
texts (an owed code, a birthday, "your friend joined") need an approved template, sent with
`ContentSid` and `ContentVariables`. A variable left out is silently replaced by the
template's sample value, so a customer would get the sample code: every variable must be
listed, and one of them must carry the code.

    whatsapp_template = "HX0123456789abcdef0123456789abcdef"
    whatsapp_variables = {"1" = "{first_name}", "2" = "{code}"}
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from typing import Any

from selfserve.campaigns.spec import CampaignSpec
from selfserve.campaigns.templates import render_template
from selfserve.sms import Template

TEMPLATE_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
VARIABLE_NAME = re.compile(r"^[A-Za-z0-9_]{1,16}$")  # Twilio: no spaces, at most 16 characters
VARIABLE_FIELDS = frozenset({"first_name", "code", "name", "keyword"})
WHATSAPP_ACTIONS = ("coupon", "birthday", "competition", "referral")
NO_FIRST_NAME = "there"  # "Hi {first_name}" for someone not in the directory: "Hi there"
EXAMPLE = '{"1" = "{first_name}", "2" = "{code}"}'


def validate_whatsapp_template(
    values: Mapping[str, Any], problem: Callable[[str, str], None]
) -> None:
    """`whatsapp_template` is a Content sid (HX + 32 hex), with every variable listed and
    the code among them; either field alone is a mistake."""
    sid, variables = values.get("whatsapp_template"), values.get("whatsapp_variables")
    if sid is None and variables is None:
        return
    if sid is None:
        problem("whatsapp_template", "is required with whatsapp_variables")
        return
    if not TEMPLATE_SID.match(sid):
        problem("whatsapp_template", "must be a Content template sid: HX and 32 hex characters")
    if not variables:
        problem("whatsapp_variables", f"must list every variable of the template, e.g. {EXAMPLE}")
        return
    used: set[str] = set()
    for name, text in variables.items():
        if not VARIABLE_NAME.match(str(name)) or not isinstance(text, str) or not text.strip():
            problem("whatsapp_variables", f"variable {name!r} needs a name and some text")
            continue
        used |= _placeholders(str(name), text, problem)
    if "code" not in used:
        problem("whatsapp_variables", "must carry the code: one variable must be {code}")


def _placeholders(name: str, text: str, problem: Callable[[str, str], None]) -> set[str]:
    try:
        found = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError as error:
        problem("whatsapp_variables", f"variable {name}: bad template ({error})")
        return set()
    for field in found - VARIABLE_FIELDS:
        problem(
            "whatsapp_variables",
            f"variable {name}: unknown placeholder {{{field}}}; use one of "
            + ", ".join(f"{{{f}}}" for f in sorted(VARIABLE_FIELDS)),
        )
    return found


def whatsapp_template(
    campaign: CampaignSpec, values: Mapping[str, Any], channel: str = "whatsapp"
) -> Template | None:
    """The campaign's template with every variable filled in, or None when it has none (or
    the text goes by another `channel`)."""
    sid = campaign.option("whatsapp_template")
    if not sid or channel != "whatsapp":
        return None
    variables = campaign.option("whatsapp_variables") or {}
    fields = {"name": campaign.name, **values}
    fields["first_name"] = fields.get("first_name") or NO_FIRST_NAME
    # Meta refuses an empty variable (and Twilio fills a missing one with the sample value).
    return Template(
        sid,
        {str(k): render_template(v, fields).strip() or "-" for k, v in variables.items()},
    )
