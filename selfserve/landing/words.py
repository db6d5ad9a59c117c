"""The landing and code pages' own words, and the one-time code text, in the campaign's language.

The same gettext catalogues as our SMS texts (selfserve.ops.Catalogues): a page is in the
campaign's `language`, else the first of SMS_LANGUAGES. Message ids are the English words,
with `%(name)s` placeholders (Jinja's i18n extension fills them in the templates).
"""

from __future__ import annotations

from selfserve.campaigns import CampaignSpec
from selfserve.ops import Catalogues

CODE_TEXT = "Your %(name)s code is %(code)s. It expires in 10 minutes."


class PageWords:
    """Looks up the pages' words; unknown languages and messages stay English."""

    def __init__(self, catalogues: Catalogues, languages: tuple[str, ...] = ("en",)) -> None:
        self._catalogues = catalogues
        self.default_language = languages[0] if languages else "en"

    def language_of(self, campaign: CampaignSpec | None) -> str:
        """The language of a campaign's pages (the default for no campaign)."""
        if campaign is None:
            return self.default_language
        return campaign.language or self.default_language

    def gettext(self, language: str, message: str) -> str:
        """`message` in `language` (English when there is no translation)."""
        return self._catalogues.gettext(language, message)

    def code_text(self, campaign: CampaignSpec, code: str) -> str:
        """The one-time code SMS's first line."""
        return self.gettext(self.language_of(campaign), CODE_TEXT) % {
            "name": campaign.name,
            "code": code,
        }
