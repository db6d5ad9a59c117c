"""What a poster encodes: the campaign as a poster shows it, its locations and the QR payload.

A payload is either a text to the campaign's number (`SMSTO:`) or a link to its landing page,
and a location (`src`) is a short token that appears in that link and in file names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import quote

import phonenumbers

from selfserve.campaigns import CampaignSpec

MODES = ("sms", "web", "whatsapp")

# A src names a poster's location in scan statistics and in the file name, so it stays a short
# token that is safe in both: no path separators, no leading dot, no spaces.
_SRC_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class PosterError(Exception):
    """A poster cannot be made; the message is one line a marketer can act on."""


@dataclass(frozen=True)
class PosterCampaign:
    """What a poster shows about one campaign.

    `sms_number` is E.164; the caller resolves it (the campaign's own number, else
    TWILIO_FROM_NUMBER) and passes "" when neither is configured.
    """

    slug: str
    name: str
    keyword: str
    sms_number: str
    offer: str = ""
    terms_url: str = ""
    brand_colour: str = ""
    whatsapp_number: str = ""  # E.164 (WHATSAPP_NUMBER); "" when WhatsApp is not set up


def poster_campaign_from(
    campaign: CampaignSpec, default_sms_number: str, whatsapp_number: str = ""
) -> PosterCampaign:
    """What a poster shows about a stored campaign; the CLI and the console both use this.

    The number is the campaign's own `sms_number`, else `default_sms_number`
    (TWILIO_FROM_NUMBER), else "" (then only web posters can be made). `whatsapp_number`
    (WHATSAPP_NUMBER) is what a WhatsApp poster opens a chat with.
    """
    return PosterCampaign(
        slug=campaign.slug,
        name=campaign.name,
        keyword=campaign.keywords[0] if campaign.keywords else "",
        sms_number=campaign.option("sms_number") or default_sms_number,
        offer=campaign.option("offer", ""),
        terms_url=campaign.option("terms_url", ""),
        brand_colour=campaign.option("brand_colour", ""),
        whatsapp_number=whatsapp_number,
    )


@dataclass(frozen=True)
class PosterLocation:
    """One place a poster hangs: `src` tracks its scans, `label` is printed on it."""

    src: str
    label: str = ""


def qr_payload(campaign: PosterCampaign, mode: str, public_base_url: str, src: str | None) -> str:
    """Return the exact text the poster's QR code encodes.

    "sms" gives `SMSTO:<E.164>:<KEYWORD>`; "web" gives `PUBLIC_BASE_URL/q/<slug>` with
    `?src=<location>` (percent-encoded) when a location is given; "whatsapp" gives
    `https://wa.me/<digits>?text=<KEYWORD>` (a chat with WHATSAPP_NUMBER, the keyword typed).
    Raises PosterError for an unknown mode, a missing or malformed number, or a bad base URL.
    """
    if mode == "sms":
        number = checked_sms_number(campaign)
        if not campaign.keyword.strip():
            raise PosterError(f"campaign {campaign.slug!r} has no keyword to text")
        # Only the first two colons separate fields, and the body is not URL-encoded.
        return f"SMSTO:{number}:{campaign.keyword}"
    if mode == "whatsapp":
        return whatsapp_link(campaign)
    if mode == "web":
        base = public_base_url.strip().rstrip("/")
        if not re.match(r"https?://[^/\s]+", base):
            raise PosterError(f"PUBLIC_BASE_URL {public_base_url!r} must start with http(s)://host")
        url = f"{base}/q/{quote(campaign.slug, safe='')}"
        if src:
            url += f"?src={quote(src, safe='')}"
        return url
    raise PosterError(f"unknown poster mode {mode!r}: use one of {', '.join(MODES)}")


def check_src(src: str) -> None:
    """Raise PosterError unless `src` is a valid location token (used in URLs and file names)."""
    check_token(src, "src")


def check_token(value: str, what: str) -> None:
    """Raise PosterError naming `what` unless `value` is a short token safe in URLs and files."""
    if not _SRC_PATTERN.fullmatch(value):
        raise PosterError(
            f"{what} {value!r} must be 1-64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )


def checked_sms_number(campaign: PosterCampaign) -> str:
    """The campaign's number, when it is set and in E.164 form; PosterError otherwise."""
    number = campaign.sms_number.strip()
    if not number:
        raise PosterError(
            f"campaign {campaign.slug!r} has no SMS number: "
            "set TWILIO_FROM_NUMBER or the campaign's sms_number"
        )
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as error:
        raise PosterError(f"SMS number {number!r} is not an E.164 number ({error})") from error
    canonical = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if canonical != number or not phonenumbers.is_possible_number(parsed):
        raise PosterError(f"SMS number {number!r} is not an E.164 number like +61491570156")
    return number


def whatsapp_link(campaign: PosterCampaign) -> str:
    """`https://wa.me/<digits>?text=<KEYWORD>`: opens a WhatsApp chat with the keyword typed.

    wa.me takes the number as digits only (no +, spaces or leading zeros) and the text
    percent-encoded. Raises PosterError when WHATSAPP_NUMBER is not set or the keyword is.
    """
    number = campaign.whatsapp_number.strip()
    if not number:
        raise PosterError(
            f"campaign {campaign.slug!r} has no WhatsApp number: set WHATSAPP_NUMBER "
            "(or TWILIO_WHATSAPP_FROM)"
        )
    checked = checked_sms_number(replace(campaign, sms_number=number))
    if not campaign.keyword.strip():
        raise PosterError(f"campaign {campaign.slug!r} has no keyword to send")
    return f"https://wa.me/{checked.lstrip('+')}?text={quote(campaign.keyword, safe='')}"
