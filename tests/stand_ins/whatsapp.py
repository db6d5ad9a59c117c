"""What Twilio's Messages resource enforces for WhatsApp, for the Twilio stand-in.

From Twilio's and Meta's public documentation (see tests/stand_ins/README.md):

- `To` and `From` both carry `whatsapp:` (a Messaging Service may stand in for `From`);
- free-form (a Body) only within 24 hours of the person's last message; the stand-in is told
  whose window is closed (`close_window`) and refuses free-form to them with 63016;
- a template is sent with `ContentSid` (`HX` + 32 hex) and `ContentVariables` (a JSON object
  as a string); an unknown sid is refused (21655). Twilio fills a variable left out with the
  template's sample value, silently; the stand-in refuses it (21656) so a test sees it;
- Body with a ContentSid: Twilio fails template text sent as Body (63016) and says to leave
  Body out; the stand-in refuses any Body beside a ContentSid with 63016;
- marketing templates are not delivered to US (+1) numbers: 63049;
- a number that is not on WhatsApp: 63024; a business-scoped id (`US.…`) is a valid `To`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

TEMPLATE_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")


@dataclass(frozen=True)
class ContentTemplate:
    """An approved template: its variables' names and whether Meta files it as marketing."""

    variables: tuple[str, ...]
    marketing: bool = False


@dataclass
class WhatsAppRules:
    """The state the stand-in keeps for WhatsApp, and the one check it makes per request."""

    closed: set[str] = field(default_factory=set)  # addresses whose 24-hour window has closed
    templates: dict[str, ContentTemplate] = field(default_factory=dict)
    not_on_whatsapp: set[str] = field(default_factory=set)

    def close_window(self, address: str) -> None:
        """From now on free-form messages to `address` (E.164 or scoped id) fail with 63016."""
        self.closed.add(address)

    def approve(self, sid: str, variables: tuple[str, ...], marketing: bool = False) -> None:
        """Register an approved Content template."""
        self.templates[sid] = ContentTemplate(variables, marketing)

    def refusal(self, form: dict[str, str]) -> tuple[int, str] | None:
        """The (code, message) Twilio would refuse this create with, or None."""
        to, sender = form.get("To", ""), form.get("From", "")
        if not to.startswith("whatsapp:"):
            if sender.startswith("whatsapp:") or form.get("ContentSid"):
                return 21910, "Invalid From and To pair. From and To should be of the same channel"
            return None
        if sender and not sender.startswith("whatsapp:"):
            return 21910, "Invalid From and To pair. From and To should be of the same channel"
        address = to.removeprefix("whatsapp:")
        if address in self.not_on_whatsapp:
            return 63024, "Invalid message recipient"
        if form.get("ContentSid"):
            return self._template_refusal(address, form)
        if address in self.closed:
            return 63016, "Failed to send freeform message because you are outside the window"
        return None

    def _template_refusal(self, address: str, form: dict[str, str]) -> tuple[int, str] | None:
        sid = form["ContentSid"]
        if "Body" in form:
            return 63016, "Template text sent as Body: send ContentSid and ContentVariables only"
        template = self.templates.get(sid) if TEMPLATE_SID.match(sid) else None
        if template is None:
            return 21655, "The ContentSid is Invalid"
        try:
            variables = json.loads(form.get("ContentVariables") or "{}")
        except ValueError:
            return 21656, "The ContentVariables Parameter is invalid"
        missing = [name for name in template.variables if not variables.get(name)]
        if not isinstance(variables, dict) or missing:
            return 21656, f"ContentVariables is missing {missing}"
        if template.marketing and address.startswith("+1"):
            return 63049, "Meta chose not to deliver this marketing message to a US number"
        return None
