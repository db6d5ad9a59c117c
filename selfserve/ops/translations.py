"""Message catalogues: the app's own words in the languages of SMS_LANGUAGES.

The texts are gettext catalogues, `selfserve/locale/<lang>/LC_MESSAGES/selfserve.po`,
compiled to `.mo` at install (`make setup` runs `pybabel compile`); a catalogue whose `.mo` is
missing (a fresh checkout, tests) is compiled from its `.po` in memory when first read, so
the two can never disagree for long. English is the source language: its words are the
message ids themselves.
"""

from __future__ import annotations

import gettext
import io
import threading
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "selfserve"


class Catalogues:
    """Looks up the app's own texts by language; unknown languages and messages stay English."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        self._dir = locale_dir
        self._loaded: dict[str, gettext.NullTranslations] = {}
        self._lock = threading.Lock()

    def gettext(self, language: str, message: str) -> str:
        """`message` in `language` (the English message when there is no translation)."""
        return self._translations(language).gettext(message)

    def _translations(self, language: str) -> gettext.NullTranslations:
        found = self._loaded.get(language)
        if found is None:
            with self._lock:
                found = self._loaded.get(language) or self._load(language)
                self._loaded[language] = found
        return found

    def _load(self, language: str) -> gettext.NullTranslations:
        folder = self._dir / language / "LC_MESSAGES"
        if (folder / f"{DOMAIN}.mo").is_file():
            return Translations.load(str(self._dir), [language], DOMAIN)
        source = folder / f"{DOMAIN}.po"
        if not source.is_file():
            return gettext.NullTranslations()
        with source.open("rb") as po_file:
            catalogue = read_po(po_file, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalogue)
        compiled.seek(0)
        return Translations(compiled, domain=DOMAIN)
