"""Opt-out, opt-in and help words in every supported language, read before any campaign.

English is Twilio's default set; the other languages follow Twilio's Advanced Opt-Out
language lists and the carriers' guidance. Words are kept folded (unidecode, upper case), so
ARRÊT and ARRET are one word. Only the languages in SMS_LANGUAGES are listened for.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz.distance import DamerauLevenshtein
from unidecode import unidecode

# Twilio's own default words: Twilio confirms these itself, so the app answers <Response/>.
OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
TWILIO_WORDS = OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS


@dataclass(frozen=True)
class LanguageWords:
    """One language's compliance words, folded."""

    opt_out: frozenset[str]
    opt_in: frozenset[str]
    help: frozenset[str]


WORDS: dict[str, LanguageWords] = {  # one entry per SUPPORTED_LANGUAGES
    "en": LanguageWords(OPT_OUT_WORDS, OPT_IN_WORDS, HELP_WORDS),
    "fr": LanguageWords(
        frozenset({"ARRET", "ARRETER", "DESABONNER", "DESINSCRIRE"}),
        frozenset({"COMMENCER", "REPRENDRE"}),
        frozenset({"AIDE"}),
    ),
    "es": LanguageWords(
        frozenset({"ALTO", "PARAR", "BAJA", "CANCELAR", "DETENER"}),
        frozenset({"COMENZAR", "INICIAR"}),
        frozenset({"AYUDA"}),
    ),
    "de": LanguageWords(
        frozenset({"STOPP", "ABMELDEN", "BEENDEN"}),
        frozenset({"ANMELDEN"}),
        frozenset({"HILFE"}),
    ),
    "it": LanguageWords(
        frozenset({"ANNULLA", "FERMA", "DISISCRIVI"}),
        frozenset({"INIZIA", "ISCRIVI"}),
        frozenset({"AIUTO"}),
    ),
    "nl": LanguageWords(
        frozenset({"STOPPEN", "AFMELDEN", "UITSCHRIJVEN"}),
        frozenset({"AANMELDEN"}),
        frozenset({"HULP"}),
    ),
    "pt": LanguageWords(
        frozenset({"PARAR", "CANCELAR", "SAIR"}),
        frozenset({"COMECAR", "VOLTAR"}),
        frozenset({"AJUDA"}),
    ),
}
# Every language's words, enabled or not: a keyword may never be one (languages get enabled
# later, and a campaign must not start opting people out then).
# The customer's own words: their codes, and erasure (FORGET ME, then FORGET to confirm).
MY_CODES_WORD = "MYCODES"
FORGET_REQUEST = "FORGET ME"
FORGET_CONFIRMATION = "FORGET"
DATA_WORDS = frozenset({MY_CODES_WORD, FORGET_CONFIRMATION})
RESERVED_WORDS = DATA_WORDS | frozenset(
    word for words in WORDS.values() for word in words.opt_out | words.opt_in | words.help
)
# The one-edit opt-out rule is for words of 4 letters or more: one edit of END or FIN is
# half the dictionary (AND, WIN, FUN), and a customer who texts WIN wants the draw.
FUZZY_MIN_LENGTH = 4
MAX_FOLDED_CHARACTERS = 320  # cost bound: longer texts are never a whole compliance word

_NOT_WORD = re.compile(r"[^A-Z0-9 ]+")
_TRAILING_PUNCTUATION = re.compile(r"[\W_]+$")
_FIRST_WORD = re.compile(r"[^\W_]+")


class Compliance(StrEnum):
    """What a text asks of us before any campaign is considered."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


@dataclass(frozen=True)
class ComplianceWord:
    """A compliance text: what it asks, in which language, and whether Twilio answered it."""

    kind: Compliance
    language: str
    twilio_confirms: bool  # Twilio's own word (or OptOutType): Twilio sends the confirmation


def normalise_body(body: str) -> str:
    """NFKC, trimmed, inner spaces collapsed, upper-cased, trailing punctuation dropped."""
    text = unicodedata.normalize("NFKC", body.replace("\x00", " "))
    text = " ".join(text.split()).upper()
    return _TRAILING_PUNCTUATION.sub("", text)


def first_word(body: str) -> str:
    """The first word of a text, upper-cased, without punctuation or emoji ('  bloom!!' → BLOOM)."""
    text = unicodedata.normalize("NFKC", body[:MAX_FOLDED_CHARACTERS].replace("\x00", " "))
    match = _FIRST_WORD.search(text)
    return match.group(0).upper() if match else ""


def fold(body: str) -> str:
    """A text as plain ASCII words: accents and other scripts transliterated (unidecode),
    upper case, punctuation and emoji dropped, spaces collapsed; letters typed apart joined
    ("S T O P" → STOP). Only the first MAX_FOLDED_CHARACTERS characters are read."""
    text = unidecode(unicodedata.normalize("NFKC", body[:MAX_FOLDED_CHARACTERS])).upper()
    words = _NOT_WORD.sub(" ", text).split()
    if len(words) > 1 and all(len(word) == 1 for word in words):
        return "".join(words)
    return " ".join(words)


class ComplianceWords:
    """The compliance words of the enabled languages (SMS_LANGUAGES), the first one winning
    where two languages share a word (es and pt both say PARAR)."""

    def __init__(self, languages: tuple[str, ...] = ("en",)) -> None:
        self.languages = languages
        self._exact: dict[str, tuple[Compliance, str]] = {}
        for language in ("en", *languages):  # English's words are Twilio's: always heard
            words = WORDS[language]
            for kind, group in (
                (Compliance.OPT_OUT, words.opt_out),
                (Compliance.OPT_IN, words.opt_in),
                (Compliance.HELP, words.help),
            ):
                for word in group:
                    self._exact.setdefault(
                        word, (kind, language if language in languages else languages[0])
                    )
        self._fuzzy_opt_out = sorted(
            (word, language)
            for word, (kind, language) in self._exact.items()
            if kind is Compliance.OPT_OUT and len(word) >= FUZZY_MIN_LENGTH and " " not in word
        )

    def classify(self, body: str, opt_out_type: str = "") -> ComplianceWord | None:
        """Which compliance rule a text triggers, if any (twilio-sms.md, app rules 1-3, plus
        the one-edit opt-out rule: STOPP, SOTP and S T O P are opt-outs too)."""
        declared = _DECLARED.get(opt_out_type.strip().upper())
        if declared is not None:
            return ComplianceWord(declared, self.languages[0], twilio_confirms=True)
        normalised = normalise_body(body)
        folded = fold(body)
        found = self._exact.get(folded)
        if found is not None:
            return ComplianceWord(found[0], found[1], normalised in TWILIO_WORDS)
        return self._opt_out_near(folded)

    def _opt_out_near(self, folded: str) -> ComplianceWord | None:
        """A first word that is an opt-out word ("STOP texting me"), or a whole text one edit
        from one ("STOPP"): a wish to stop, which Twilio did not see (we confirm it)."""
        head = folded.split(" ", 1)[0]
        found = self._exact.get(head)
        if found is not None and found[0] is Compliance.OPT_OUT:
            return ComplianceWord(Compliance.OPT_OUT, found[1], twilio_confirms=False)
        if " " in folded or len(folded) < FUZZY_MIN_LENGTH - 1 or len(folded) > 16:
            return None
        for word, language in self._fuzzy_opt_out:
            if DamerauLevenshtein.distance(folded, word, score_cutoff=1) <= 1:
                return ComplianceWord(Compliance.OPT_OUT, language, twilio_confirms=False)
        return None


_DECLARED = {"STOP": Compliance.OPT_OUT, "START": Compliance.OPT_IN, "HELP": Compliance.HELP}


def classify(body: str, opt_out_type: str = "") -> Compliance | None:
    """Which compliance rule a text triggers in English only (see ComplianceWords)."""
    found = _ENGLISH.classify(body, opt_out_type)
    return found.kind if found is not None else None


_ENGLISH = ComplianceWords()


def is_reserved(keyword: str) -> bool:
    """True for words that can never be a campaign keyword (any supported language)."""
    return fold(keyword) in RESERVED_WORDS


def reserved_word_near(keyword: str) -> str | None:
    """The reserved word a keyword is (or is one edit from, for words of 4+ letters)."""
    folded = fold(keyword)
    if folded in RESERVED_WORDS:
        return folded
    for word in sorted(_FUZZY_RESERVED):
        if DamerauLevenshtein.distance(folded, word, score_cutoff=1) <= 1:
            return word
    return None


_FUZZY_RESERVED = frozenset(
    word for word in RESERVED_WORDS if len(word) >= FUZZY_MIN_LENGTH and " " not in word
)
