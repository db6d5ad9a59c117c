"""Campaigns: the campaigns file format, its validation, drafts from the console, the book.

Owns what a campaign is (`CampaignSpec`), the TOML import/export and the rules both the
import command and the console's form apply, reply templates and their placeholders, and
the in-memory `CampaignBook` lookups (keyword → campaign). It may import `sms` (text rules
and reserved words), `customers`, `talon`, `ops`, `models` and `errors`.
"""

from selfserve.campaigns.book import (
    CampaignBook,
    export_campaigns,
    import_campaigns,
    parse_campaigns_file,
)
from selfserve.campaigns.drafts import (
    GENERAL,
    definition_from_form,
    save_draft,
    set_active,
    stored_definition,
)
from selfserve.campaigns.fields import (
    ACTIONS,
    COMPETITION_REPLIES,
    DEFAULT_CONFIRM_REPLY,
    DEFAULT_DEFERRED_REPLY,
    DEFAULT_REFERRAL_USAGE_LIMIT,
    DEFAULT_SEND_AT,
    FIELDS,
)
from selfserve.campaigns.spec import CampaignSpec, spec_from_definition
from selfserve.campaigns.templates import format_points, render_template
from selfserve.campaigns.times import campaign_zone, moment_of
from selfserve.campaigns.validation import validate_campaign
from selfserve.campaigns.whatsapp import whatsapp_template

__all__ = [
    "ACTIONS",
    "COMPETITION_REPLIES",
    "CampaignBook",
    "CampaignSpec",
    "DEFAULT_CONFIRM_REPLY",
    "DEFAULT_DEFERRED_REPLY",
    "DEFAULT_REFERRAL_USAGE_LIMIT",
    "DEFAULT_SEND_AT",
    "FIELDS",
    "GENERAL",
    "campaign_zone",
    "definition_from_form",
    "export_campaigns",
    "format_points",
    "import_campaigns",
    "moment_of",
    "parse_campaigns_file",
    "render_template",
    "save_draft",
    "set_active",
    "spec_from_definition",
    "stored_definition",
    "validate_campaign",
    "whatsapp_template",
]
