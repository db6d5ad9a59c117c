"""Phone numbers: E.164 normalisation, channel prefixes and masking for logs and pages."""

from __future__ import annotations

import phonenumbers

from selfserve.errors import InvalidPhoneNumber

CHANNEL_PREFIXES = ("whatsapp:", "sms:", "mms:", "rcs:")
MAX_INPUT_LENGTH = 40
E164 = phonenumbers.PhoneNumberFormat.E164


def split_channel(address: str) -> tuple[str, str]:
    """Split Twilio's `whatsapp:+61…` form into ("whatsapp", "+61…"); plain numbers are "sms"."""
    lowered = address.lower()
    for prefix in CHANNEL_PREFIXES:
        if lowered.startswith(prefix):
            return prefix[:-1], address[len(prefix) :]
    return "sms", address


def to_e164(raw: str, default_region: str) -> str:
    """Normalise a number typed in any local or international form to E.164.

    Raises InvalidPhoneNumber when it is not a possible, valid number.
    """
    return phonenumbers.format_number(_parse_valid(raw, default_region), E164)


def to_e164_and_mask(raw: str, default_region: str) -> tuple[str, str]:
    """`to_e164` and `mask_phone` of the result, parsing the number once (every text does)."""
    parsed = _parse_valid(raw, default_region)
    return phonenumbers.format_number(parsed, E164), _mask_parsed(parsed)


def _parse_valid(raw: str, default_region: str) -> phonenumbers.PhoneNumber:
    text = (raw or "").strip()
    if not text or len(text) > MAX_INPUT_LENGTH or "\x00" in text:
        raise InvalidPhoneNumber("not a phone number")
    try:
        parsed = phonenumbers.parse(text, default_region.upper())
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("not a valid phone number")
    return parsed


def region_of(phone_e164: str) -> str | None:
    """The two-letter region of an E.164 number, or None when unknown."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone_e164, None))
    except phonenumbers.NumberParseException:
        return None


def mask_phone(phone: str) -> str:
    """Mask a number for logs and pages: `+61 4•• ••• •56` (country, first and last two digits)."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        digits = "".join(ch for ch in phone if ch.isdigit())
        return "•" * max(len(digits) - 2, 0) + digits[-2:] if digits else "unknown"
    return _mask_parsed(parsed)


def _mask_parsed(parsed: phonenumbers.PhoneNumber) -> str:
    shown = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    country = f"+{parsed.country_code}"
    national = shown[len(country) :]
    digit_positions = [i for i, ch in enumerate(national) if ch.isdigit()]
    keep = set(digit_positions[:1] + digit_positions[-2:])
    masked = "".join(
        ch if (not ch.isdigit() or i in keep) else "•" for i, ch in enumerate(national)
    )
    return country + masked


def national_format(phone_e164: str) -> str:
    """How a local customer writes the number (`0480 000 000`), for posters and pages."""
    try:
        parsed = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return phone_e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def region_time_zone(region: str) -> str:
    """The main time zone of a region (`AU` → `Australia/Sydney`), from phonenumbers' data.

    phonenumbers knows the zones of a region's example landline number; where it lists several
    (a country spanning zones), the first is taken: campaigns there should set their own.
    Falls back to UTC for regions without data.
    """
    from phonenumbers import timezone as number_zones

    example = phonenumbers.example_number(region.upper())
    if example is None:
        return "UTC"
    zones = number_zones.time_zones_for_geographical_number(example)
    usable = [zone for zone in zones if zone != number_zones.UNKNOWN_TIMEZONE]
    return usable[0] if usable else "UTC"
