"""/dev/phone: texts go through the real, signed webhook; later texts come from the outbox."""

from __future__ import annotations

import io
import logging
import re
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app import create_app
from selfserve.models import InboundMessage
from tests.conftest import SPRING_CAMPAIGNS, import_campaigns_text
from tests.console_support import create_console_user, csrf_token, log_in, record_sent_text

NUMBER = "+61491570159"


@pytest.fixture
def sandbox_app(sandbox_settings):
    """The app as `make run` starts it: no Twilio credentials, so the SMS sandbox is on."""
    application = create_app(sandbox_settings)
    application.config["TESTING"] = True
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    yield application
    application.extensions["selfserve"].close()


@pytest.fixture
def phone(sandbox_app):
    return sandbox_app.test_client()


def text_from(client, body: str, number: str = NUMBER, **headers: str):
    token = csrf_token(client, "/dev/phone")
    return client.post(
        "/dev/phone", data={"number": number, "body": body, "csrf_token": token}, headers=headers
    )


def logged_messages(application) -> list[InboundMessage]:
    with application.extensions["selfserve"].sessions() as db:
        return list(db.scalars(select(InboundMessage).order_by(InboundMessage.id)))


class TestTexting:
    def test_a_keyword_goes_through_the_signed_webhook_and_the_reply_shows(
        self, sandbox_app, phone, caplog
    ):
        caplog.set_level(logging.INFO)
        response = text_from(phone, "spring")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/dev/phone?number=%2B61491570159")
        (message,) = logged_messages(sandbox_app)
        assert message.outcome == "code_issued"
        assert message.keyword == "SPRING"
        assert message.phone_masked == "+61 4•• ••• •59"
        assert not any(r.message == "twilio_signature_rejected" for r in caplog.records)
        page = phone.get(response.headers["Location"]).get_data(as_text=True)
        assert '<div class="bubble me"' in page
        assert "Your Spring code: SBX-" in page
        assert message.reply in page

    def test_the_webhook_gets_twilios_whole_form_with_a_valid_twilio_signature(
        self, sandbox_app, sandbox_settings, phone
    ):
        seen = []
        inner = sandbox_app.wsgi_app

        def record_webhook_requests(environ, start_response):
            # The webhooks are an app of their own (app.create_webhook_app): watch the WSGI call.
            if environ.get("PATH_INFO") == "/webhooks/twilio/sms":
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
                form = dict(parse_qsl(body.decode(), keep_blank_values=True))
                seen.append((form, environ.get("HTTP_X_TWILIO_SIGNATURE")))
            return inner(environ, start_response)

        sandbox_app.wsgi_app = record_webhook_requests

        text_from(phone, "SPRING")
        ((form, signature),) = seen
        assert form["From"] == NUMBER
        assert form["Body"] == "SPRING"
        assert form["MessageSid"].startswith("SM")
        assert len(form["MessageSid"]) == 34
        assert form["SmsSid"] == form["MessageSid"]
        assert form["AccountSid"].startswith("AC")
        validator = RequestValidator(sandbox_settings.webhook_auth_token)
        signed_url = sandbox_settings.public_base_url + "/webhooks/twilio/sms"
        assert validator.validate(signed_url, form, signature)
        assert not validator.validate(signed_url, {**form, "Body": "BLOOM"}, signature)

    def test_the_scripted_form_gets_the_thread_back_at_once(self, phone):
        response = text_from(phone, "POINTS", **{"X-Requested-With": "selfserve-phone"})
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "<html" not in html
        assert "POINTS" in html
        assert "points (" in html

    def test_a_returning_customers_reply_shows_before_the_message_log_has_it(
        self, sandbox_app, phone, monkeypatch
    ):
        first = text_from(phone, "SPRING", **{"X-Requested-With": "selfserve-phone"})
        (issued,) = logged_messages(sandbox_app)
        assert issued.reply in first.get_data(as_text=True)
        # Hold the batched message log back: the thread must not depend on it.
        writer = sandbox_app.extensions["selfserve"].returning._writer
        monkeypatch.setattr(writer, "_write_batch", lambda: False)

        again = text_from(phone, "spring", **{"X-Requested-With": "selfserve-phone"})
        assert len(logged_messages(sandbox_app)) == 1, "the returning text is not logged yet"
        html = again.get_data(as_text=True)
        assert html.count(issued.reply) == 2, "both texts show the code they were answered"
        assert html.count(issued.reply) == phone.get("/dev/phone/thread").get_data(
            as_text=True
        ).count(issued.reply)

    def test_later_texts_from_the_outbox_appear_in_the_thread(self, sandbox_app, phone):
        text_from(phone, "SPRING")
        with sandbox_app.extensions["selfserve"].sessions.begin() as db:
            record_sent_text(db, NUMBER, "Your code is on its way: ABC-123", "deferred")
            record_sent_text(db, "+61491570110", "Someone else's text", "deferred")
        thread = phone.get(f"/dev/phone/thread?number={NUMBER}").get_data(as_text=True)
        assert "Your code is on its way: ABC-123" in thread
        assert "Someone else" not in thread
        assert thread.index("SPRING") < thread.index("ABC-123")

    def test_stop_shows_that_no_reply_came(self, phone):
        text_from(phone, "STOP")
        page = phone.get(f"/dev/phone?number={NUMBER}").get_data(as_text=True)
        assert "No reply (opted out)" in page

    @pytest.mark.parametrize(
        ("number", "body", "message"),
        [
            ("not a number", "SPRING", "is not a mobile number"),
            (NUMBER, "   ", "Type a message first"),
        ],
    )
    def test_bad_input_is_explained_and_nothing_is_sent(
        self, sandbox_app, phone, number, body, message
    ):
        response = text_from(phone, body, number=number)
        assert response.status_code == 302
        assert message in phone.get(response.headers["Location"]).get_data(as_text=True)
        assert logged_messages(sandbox_app) == []

    def test_the_simulators_form_needs_its_csrf_token(self, sandbox_app, phone):
        response = phone.post("/dev/phone", data={"number": NUMBER, "body": "SPRING"})
        assert response.status_code == 400
        assert logged_messages(sandbox_app) == []


class TestWhoMayUseIt:
    def test_with_twilio_configured_anonymous_visitors_get_a_404(self, app, client):
        assert client.get("/dev/phone").status_code == 404
        assert client.get("/dev/phone/thread").status_code == 404
        assert client.post("/dev/phone", data={"number": NUMBER, "body": "SPRING"}).status_code in (
            400,
            404,
        )
        assert logged_messages(app) == []

    def test_with_twilio_configured_console_users_can_text_with_the_real_token(self, app, client):
        create_console_user(app)
        log_in(client)
        assert client.get("/dev/phone").status_code == 200
        assert "Twilio is live" in client.get("/dev/phone").get_data(as_text=True)
        text_from(client, "SPRING")
        (message,) = logged_messages(app)
        assert message.outcome == "code_issued"

    def test_the_home_page_leads_to_the_simulator_and_the_console(self, phone):
        html = phone.get("/").get_data(as_text=True)
        assert 'href="/dev/phone"' in html
        assert 'href="/admin/"' in html
        assert "users create" in html


def test_a_code_url_in_a_reply_is_a_link_and_everything_else_stays_text(sandbox_app, phone):
    import_campaigns_text(
        sandbox_app,
        SPRING_CAMPAIGNS.replace(
            'reply = "Your Spring code: {code}',
            'reply = "<b>Spring</b> code: {code} at {code_url} &',
        ),
    )
    text_from(phone, "SPRING")
    thread = phone.get(f"/dev/phone/thread?number={NUMBER}").get_data(as_text=True)
    base = sandbox_app.extensions["selfserve"].settings.public_base_url.rstrip("/")
    link = re.search(rf'<a href="({re.escape(base)}/c/[A-Za-z0-9_-]{{16}})"[^>]*>\1</a>', thread)
    assert link is not None, thread
    assert "&lt;b&gt;Spring&lt;/b&gt;" in thread  # the campaign's own words are only text
    assert "<b>" not in thread
    page = phone.get(link.group(1).removeprefix(base))
    assert page.status_code == 200
    assert re.search(r"SBX-\w+", page.get_data(as_text=True))
