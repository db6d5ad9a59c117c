"""The landing pages' own words in the campaign's language, and the one-time code text too.

Over Flask's test client, with the one-time code read from the Twilio stand-in on a real
socket: a campaign with `language = "fr"` gets French pages and a French code text; one without
gets the first of SMS_LANGUAGES; the marketer's own words (name, offer) are never translated.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest

from tests.conftest import _build_app, import_campaigns_text, reply_text, send_text
from tests.phone_visitor import PhoneVisitor, one_time_code

TYPED = "0491 570 156"
PHONE = "+61491570156"


def campaign(slug: str, keyword: str, extra: str = "") -> str:
    return f"""
[[campaign]]
slug = "{slug}"
name = "Printemps 20%"
keywords = ["{keyword}"]
application_id = 12
campaign_id = 34
offer = "20% sur tout le magasin"
{extra}
"""


@pytest.fixture(params=["sqlite"])
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "selfserve.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def app_with(settings, languages: str):
    application = _build_app(replace(settings, sms_languages=languages))
    import_campaigns_text(
        application,
        campaign("printemps", "PRINTEMPS", 'language = "fr"') + campaign("spring", "SPRING"),
    )
    return application


@pytest.fixture
def app(settings):
    application = app_with(settings, "en,fr")
    yield application
    application.extensions["selfserve"].close()


def html_lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', page)
    assert match, "no <html lang>"
    return match.group(1)


def test_a_french_campaign_gets_a_french_landing_page(client):
    visitor = PhoneVisitor(client)
    assert visitor.scan("printemps").status_code == 200
    assert html_lang(visitor.page) == "fr"
    text = unescape(visitor.text)
    assert "Obtenez votre code sur cette page" in text
    assert "Numéro de mobile" in text
    assert "M'envoyer un code" in text
    assert "Ou envoyez PRINTEMPS au 0480 000 000" in text
    assert "Get your code on this page" not in text
    assert "Mobile number" not in text
    # the marketer's own words stay as written
    assert "Printemps 20%" in text
    assert "20% sur tout le magasin" in text


def test_a_campaign_without_a_language_gets_the_default_landing_page(client):
    visitor = PhoneVisitor(client)
    assert visitor.scan("spring").status_code == 200
    assert html_lang(visitor.page) == "en"
    assert "Get your code on this page" in visitor.text
    assert "Text SPRING to 0480 000 000 instead" in visitor.text
    assert "Obtenez votre code" not in unescape(visitor.text)


def test_the_default_language_is_the_first_of_sms_languages(settings):
    application = app_with(settings, "fr,en")
    try:
        visitor = PhoneVisitor(application.test_client())
        visitor.scan("spring")
        assert html_lang(visitor.page) == "fr"
        assert "Obtenez votre code sur cette page" in unescape(visitor.text)
    finally:
        application.extensions["selfserve"].close()


def test_the_code_form_and_the_one_time_code_text_are_french(client, twilio_stand_in):
    visitor = PhoneVisitor(client)
    visitor.scan("printemps")
    visitor.enter_number(TYPED)
    assert html_lang(visitor.page) == "fr"
    assert "Saisissez le code reçu par SMS" in unescape(visitor.text)
    body = twilio_stand_in.messages_to(PHONE)[-1].body
    code = one_time_code(body)
    assert body.startswith(f"Votre code Printemps 20% est {code}. Il expire dans 10 minutes.")


def test_an_english_campaigns_one_time_code_text_stays_english(client, twilio_stand_in):
    visitor = PhoneVisitor(client)
    visitor.scan("spring")
    visitor.enter_number(TYPED)
    body = twilio_stand_in.messages_to(PHONE)[-1].body
    assert body.startswith(f"Your Printemps 20% code is {one_time_code(body)}.")


CODE_PAGE_CAMPAIGNS = """
[[campaign]]
slug = "{slug}"
name = "{slug} 20%"
keywords = ["{keyword}"]
application_id = 12
campaign_id = 34
reply = "Code: {{code}} {{code_url}}"
{extra}
"""


@pytest.mark.parametrize(
    ("keyword", "extra", "lang", "wanted", "unwanted"),
    [
        ("PRINTEMPS", 'language = "fr"', "fr", "Montrez cet écran en caisse", "Show this screen"),
        ("SPRING", "", "en", "Show this screen at the till", "Montrez cet écran"),
    ],
)
def test_the_code_page_speaks_the_campaigns_language(
    app, client, keyword, extra, lang, wanted, unwanted
):
    import_campaigns_text(
        app,
        CODE_PAGE_CAMPAIGNS.format(slug=keyword.lower(), keyword=keyword, extra=extra),
    )
    reply = reply_text(send_text(client, keyword)) or ""
    link = re.search(r"/c/([A-Za-z0-9_-]+)", reply)
    assert link, reply
    page = client.get(f"/c/{link.group(1)}")
    assert page.status_code == 200
    html = unescape(page.get_data(as_text=True))
    assert html_lang(html) == lang
    assert wanted in html
    assert unwanted not in html


class TestOurTextsInTheNumbersLanguage:
    """MYCODES and FORGET ME are answered in the language the number last used."""

    def test_mycodes_lists_codes_in_french_after_a_french_campaign(self, client, talon_stand_in):
        send_text(client, "PRINTEMPS", "+61491570160")
        reply = reply_text(send_text(client, "MYCODES", "+61491570160")) or ""
        assert reply.startswith("Vos codes :\nPrintemps 20%: "), reply

    def test_mycodes_without_codes_stays_english_for_a_new_number(self, client):
        reply = reply_text(send_text(client, "MYCODES", "+61491570161")) or ""
        assert reply.startswith("You have no codes yet. Text "), reply

    def test_forget_me_is_asked_in_french(self, client, talon_stand_in):
        send_text(client, "PRINTEMPS", "+61491570162")
        asked = reply_text(send_text(client, "FORGET ME", "+61491570162")) or ""
        assert asked.startswith("Répondez FORGET pour effacer vos données"), asked
        erased = reply_text(send_text(client, "FORGET", "+61491570162")) or ""
        assert erased.startswith("Vos données ont été effacées"), erased


def test_a_french_page_explains_a_bad_number_in_french(client, twilio_stand_in):
    visitor = PhoneVisitor(client)
    visitor.scan("printemps")
    response = visitor.enter_number("not a number")
    assert response.status_code == 400
    assert "Ce numéro ne ressemble pas à un numéro de mobile." in unescape(visitor.text)
    visitor.scan("spring")
    visitor.enter_number("not a number")
    assert "That doesn't look like a mobile number." in unescape(visitor.text)
    assert twilio_stand_in.messages_to(PHONE) == []


def test_an_ended_french_campaign_says_so_in_french(app, client):
    import_campaigns_text(
        app, campaign("printemps", "PRINTEMPS", 'language = "fr"\nactive = false')
    )
    response = client.get("/q/printemps")
    assert response.status_code == 404
    page = unescape(response.get_data(as_text=True))
    assert html_lang(page) == "fr"
    assert "Printemps 20% est terminé" in page
