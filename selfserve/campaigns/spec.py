"""CampaignSpec: one validated campaign as plain values, built from its stored definition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from selfserve.campaigns.fields import (
    DEFAULT_CONFIRM_REPLY,
    DEFAULT_DEFERRED_REPLY,
    DEFAULT_IDENTIFIER,
    DEFAULT_REPLIES,
)


@dataclass(frozen=True)
class CampaignSpec:
    """A validated campaign: plain values, safe to keep in memory and pass anywhere."""

    slug: str
    name: str
    action: str
    keywords: tuple[str, ...]
    active: bool = True
    application_id: int | None = None
    campaign_id: int | None = None
    external_campaign_id: str = ""
    identifier: str = DEFAULT_IDENTIFIER
    recipient: bool = False
    usage_limit: int | None = None
    loyalty_program_id: int | None = None
    reply: str = ""
    deferred_reply: str = DEFAULT_DEFERRED_REPLY
    fuzzy: bool = True  # false: the keywords match exactly only (no look-alikes, typos…)
    language: str = ""  # the language of our own texts about it ("" = the default)
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def definition(self) -> dict[str, Any]:
        """The campaign as it is stored and exported: only fields with a value."""
        return dict(self.options)

    @property
    def confirm_reply(self) -> str:
        """What a subscribe campaign answers to the Y that confirms it."""
        return self.options.get("confirm_reply") or DEFAULT_CONFIRM_REPLY

    @property
    def barcode(self) -> str:
        """The code page's barcode: "code128" (most tills), "qr", or "none"."""
        return self.options.get("barcode") or "code128"

    @property
    def mms(self) -> bool:
        """True when a code reply carries the barcode picture (MMS: dearer, not everywhere)."""
        return bool(self.options.get("mms")) and self.barcode != "none"

    @property
    def coupon_attributes(self) -> bool:
        """True when new coupons carry `.selfserveSource`, `.selfserveKeyword` and
        `.selfserveChannel` custom attributes (they must first be defined in Talon.One)."""
        return bool(self.options.get("coupon_attributes"))

    def option(self, name: str, default: Any = None) -> Any:
        """A field of the definition that has no attribute of its own (offer, colours…)."""
        return self.options.get(name, default)


def spec_from_definition(definition: Mapping[str, Any]) -> CampaignSpec:
    """Build the in-memory spec from a stored (already validated) definition."""
    action = definition.get("action", "coupon")
    return CampaignSpec(
        slug=definition["slug"],
        name=definition["name"],
        action=action,
        keywords=tuple(definition.get("keywords", ())),
        active=definition.get("active", True),
        application_id=definition.get("application_id"),
        campaign_id=definition.get("campaign_id"),
        external_campaign_id=definition.get("external_campaign_id") or definition["slug"],
        identifier=definition.get("identifier", DEFAULT_IDENTIFIER),
        recipient=definition.get("recipient", False),
        usage_limit=definition.get("usage_limit"),
        loyalty_program_id=definition.get("loyalty_program_id"),
        reply=definition.get("reply") or DEFAULT_REPLIES.get(action, ""),
        deferred_reply=definition.get("deferred_reply", DEFAULT_DEFERRED_REPLY),
        fuzzy=definition.get("fuzzy", True),
        language=definition.get("language", ""),
        options=dict(definition),
    )
