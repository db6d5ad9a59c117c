"""The inbound-text webhook is plain WSGI (handlers/inbound_texts.py): it must answer every
odd request as the Flask apps would, with a clear 4xx, the security headers, and never a
leaked 500."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest
from werkzeug.datastructures import MultiDict

from tests.conftest import inbound_form, post_signed, reply_text, signature_for

PATH = "/webhooks/twilio/sms"


def test_the_twiml_answer_carries_the_security_headers(client):
    response = post_signed(client, inbound_form("SPRING"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Length"] == str(len(response.data))
    assert reply_text(response).startswith("Your Spring code:")


def test_a_get_is_405(client):
    response = client.get(PATH)
    assert response.status_code == 405


def test_a_body_over_256_kib_is_413_and_not_read(client):
    form = inbound_form("SPRING", Padding="x" * (300 * 1024))
    response = post_signed(client, form)
    assert response.status_code == 413


def test_a_body_that_is_not_a_form_is_refused_not_a_500(client):
    signature = signature_for(PATH, {})
    response = client.post(
        PATH,
        data=b'{"MessageSid": "SM1"}',
        content_type="application/json",
        headers={"X-Twilio-Signature": signature},
    )
    # Read as no form at all: signed, but without our AccountSid.
    assert response.status_code == 403


def post_form_fields(client, fields, signature):
    """POST a form whose fields may repeat, with the given X-Twilio-Signature."""
    return client.post(
        PATH,
        data=urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def test_every_value_of_a_repeated_field_is_signed(client):
    form = inbound_form("SPRING")
    fields = [*form.items(), ("MediaUrl", "https://a.example/1"), ("MediaUrl", "https://b/2")]
    response = post_form_fields(client, fields, signature_for(PATH, MultiDict(fields)))
    assert response.status_code == 200
    # Signed over one value only: another value was added on the way, so it is refused.
    one_value = signature_for(PATH, {**form, "MediaUrl": "https://a.example/1"})
    assert post_form_fields(client, fields, one_value).status_code == 403


def test_an_unexpected_error_is_a_logged_500_without_the_number(app, client, caplog, monkeypatch):
    def broken(text):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(app.extensions["selfserve"].texts, "answer", broken)
    with caplog.at_level(logging.ERROR):
        response = post_signed(client, inbound_form("SPRING", sender="+61491570156"))
    assert response.status_code == 500
    assert b"database on fire" not in response.data
    assert "unhandled_error" in caplog.text
    assert "491570156" not in caplog.text


@pytest.mark.parametrize("length", ["abc", "-5"])
def test_a_bad_content_length_is_a_4xx(client, length):
    response = client.post(
        PATH,
        data=b"",
        headers={"Content-Length": length, "X-Twilio-Signature": "x"},
        content_type="application/x-www-form-urlencoded",
    )
    assert 400 <= response.status_code < 500
