"""Campaigns: the campaigns file format, its validation, drafts from the console, the book.

Owns what a campaign is (`CampaignSpec`), the TOML import/export and the rules both the
import command and the console's form apply, reply templates and their placeholders, and
the in-memory `CampaignBook` lookups (keyword → campaign). It may import `sms` (text rules
and reserved words), `customers`, `talon`, `ops`, `models` and `errors`.
"""

from selfserve.campaigns.book import (
    ACTIONS,
    COMPETITION_REPLIES,
    DEFAULT_CONFIRM_REPLY,
    DEFAULT_DEFERRED_REPLY,
    DEFAULT_SEND_AT,
    FIELDS,
    CampaignBook,
    CampaignSpec,
    campaign_zone,
    export_campaigns,
    format_points,
    import_campaigns,
    moment_of,
    parse_campaigns_file,
    render_template,
    spec_from_definition,
    validate_campaign,
)
from selfserve.campaigns.drafts import (
    GENERAL,
    definition_from_form,
    save_draft,
    set_active,
    stored_definition,
)

__all__ = [
    "ACTIONS",
    "COMPETITION_REPLIES",
    "CampaignBook",
    "CampaignSpec",
    "DEFAULT_CONFIRM_REPLY",
    "DEFAULT_DEFERRED_REPLY",
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
]
