"""SMS text rules: GSM-7 versus UCS-2, segment counts, and cleaning templates before saving."""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")

# Characters that quietly turn a whole message into UCS-2, and their GSM-7 stand-ins.
TYPOGRAPHIC_REPLACEMENTS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2032": "'",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
}


@dataclass(frozen=True)
class Encoding:
    """How a text travels: `GSM-7` or `UCS-2`, in how many segments."""

    name: str
    segments: int
    units: int


def clean_template(text: str) -> str:
    """Replace smart quotes, dashes and odd spaces with their GSM-7 forms."""
    return "".join(TYPOGRAPHIC_REPLACEMENTS.get(ch, ch) for ch in text)


def encoding_of(text: str) -> Encoding:
    """The encoding and segment count Twilio will use for `text`."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, part = 160, 153
        name = "GSM-7"
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, part = 70, 67
        name = "UCS-2"
    segments = 1 if units <= single else -(-units // part)
    return Encoding(name, segments, units)
