"""Phone numbers: E.164 normalisation, channel prefixes, masking; log scrubbing."""

from __future__ import annotations

import pytest

from selfserve.customers import mask_phone, national_format, split_channel, to_e164
from selfserve.errors import InvalidPhoneNumber
from selfserve.ops import scrub


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("0491 570 156", "AU", "+61491570156"),
        ("+61 491 570 156", "AU", "+61491570156"),
        ("0011 61 491 570 156", "AU", "+61491570156"),
        ("(04) 9157-0156", "AU", "+61491570156"),
        ("+1 415 867 5309", "AU", "+14158675309"),
        ("020 7946 0018", "GB", "+442079460018"),
    ],
)
def test_numbers_become_e164(raw, region, expected):
    assert to_e164(raw, region) == expected


@pytest.mark.parametrize(
    "raw", ["", "hello", "123", "+999 123", "0" * 50, "04\x0091570156", "<script>alert(1)</script>"]
)
def test_garbage_is_an_invalid_phone_number(raw):
    with pytest.raises(InvalidPhoneNumber):
        to_e164(raw, "AU")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("whatsapp:+61491570156", ("whatsapp", "+61491570156")),
        ("+61491570156", ("sms", "+61491570156")),
        ("WhatsApp:+61491570156", ("whatsapp", "+61491570156")),
    ],
)
def test_channel_prefixes_are_split_off(address, expected):
    assert split_channel(address) == expected


def test_masking_keeps_the_country_first_and_last_two_digits():
    assert mask_phone("+61491570156") == "+61 4•• ••• •56"
    assert mask_phone("+14158675309") == "+1 4••-•••-••09"
    assert "491570156" not in mask_phone("+61491570156")


def test_national_format_is_how_locals_write_it():
    assert national_format("+61480000000") == "0480 000 000"


@pytest.mark.parametrize(
    "line", ["to=+61491570156 x", "from 0491 570 156 now", "number 61491570156"]
)
def test_the_log_scrubber_masks_anything_like_a_full_number(line):
    assert "491570156" not in scrub(line).replace(" ", "")


def test_the_log_scrubber_leaves_times_and_ids_alone():
    line = '2026-11-23 03:45:12,667 "POST /x HTTP/1.1" 200 id=12345 SMabc1234567890'
    assert scrub(line) == line
