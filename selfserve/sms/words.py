"""Opt-out, opt-in and help words (Twilio's defaults), read before any campaign routing."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
# The customer's own words: their codes, and erasure (FORGET ME, then FORGET to confirm).
MY_CODES_WORD = "MYCODES"
FORGET_REQUEST = "FORGET ME"
FORGET_CONFIRMATION = "FORGET"
DATA_WORDS = frozenset({MY_CODES_WORD, FORGET_CONFIRMATION})
RESERVED_WORDS = OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS | DATA_WORDS

_TRAILING_PUNCTUATION = re.compile(r"[\W_]+$")
_FIRST_WORD = re.compile(r"[^\W_]+")


class Compliance(StrEnum):
    """What a text asks of us before any campaign is considered."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


def normalise_body(body: str) -> str:
    """NFKC, trimmed, inner spaces collapsed, upper-cased, trailing punctuation dropped."""
    text = unicodedata.normalize("NFKC", body.replace("\x00", " "))
    text = " ".join(text.split()).upper()
    return _TRAILING_PUNCTUATION.sub("", text)


def first_word(body: str) -> str:
    """The first word of a text, upper-cased, without punctuation or emoji ('  bloom!!' → BLOOM)."""
    text = unicodedata.normalize("NFKC", body.replace("\x00", " "))
    match = _FIRST_WORD.search(text)
    return match.group(0).upper() if match else ""


def classify(body: str, opt_out_type: str = "") -> Compliance | None:
    """Which compliance rule a text triggers, if any (twilio-sms.md, app rules 1-3)."""
    declared = opt_out_type.strip().upper()
    if declared == "STOP":
        return Compliance.OPT_OUT
    if declared == "START":
        return Compliance.OPT_IN
    if declared == "HELP":
        return Compliance.HELP
    normalised = normalise_body(body)
    if normalised in OPT_OUT_WORDS:
        return Compliance.OPT_OUT
    if normalised in OPT_IN_WORDS:
        return Compliance.OPT_IN
    if normalised in HELP_WORDS:
        return Compliance.HELP
    # Stricter than Twilio: "STOP texting me" is still a wish to stop.
    if normalised.split(" ", 1)[0] in OPT_OUT_WORDS:
        return Compliance.OPT_OUT
    return None


def is_reserved(keyword: str) -> bool:
    """True for words that can never be a campaign keyword."""
    return normalise_body(keyword) in RESERVED_WORDS
