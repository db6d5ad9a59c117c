"""The webhook signature's edges, added for the survivors of scripts/mutation-check
(docs/testing.md): Twilio's port variant, a trailing slash on PUBLIC_BASE_URL, and a signature
that covers the URL but not the form."""

from __future__ import annotations

from dataclasses import replace

from twilio.request_validator import RequestValidator

from app import create_app
from tests.conftest import PUBLIC_BASE_URL, WEBHOOK_TOKEN, inbound_form, reply_text

WEBHOOK = "/webhooks/twilio/sms"


def post(client, form, signature):
    return client.post(WEBHOOK, data=form, headers={"X-Twilio-Signature": signature})


def test_a_signature_over_the_url_with_its_explicit_port_is_accepted(client):
    """Twilio may sign https://host:443/…; RequestValidator accepts both forms, so must we."""
    form = inbound_form("HELP")
    signature = RequestValidator(WEBHOOK_TOKEN).compute_signature(
        PUBLIC_BASE_URL + ":443" + WEBHOOK, form
    )
    response = post(client, form, signature)
    assert response.status_code == 200
    assert reply_text(response)  # the help text


def test_a_signature_over_the_bare_url_does_not_sign_a_form(client, talon_stand_in):
    form = inbound_form("SPRING")
    url_only = RequestValidator(WEBHOOK_TOKEN).compute_signature(PUBLIC_BASE_URL + WEBHOOK, {})
    assert post(client, form, url_only).status_code == 403
    assert talon_stand_in.requests == []


def test_a_trailing_slash_on_public_base_url_signs_the_same_url(settings):
    application = create_app(replace(settings, public_base_url=PUBLIC_BASE_URL + "/"))
    try:
        form = inbound_form("HELP")
        signature = RequestValidator(WEBHOOK_TOKEN).compute_signature(
            PUBLIC_BASE_URL + WEBHOOK, form
        )
        assert post(application.test_client(), form, signature).status_code == 200
    finally:
        application.extensions["selfserve"].close()
