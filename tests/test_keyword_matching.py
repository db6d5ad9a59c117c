"""Forgiving, multilingual keywords, through the signed webhook (texts/matching.py, sms/words.py).

The book: SPRING and BLOOM (one campaign), SPRINT (fuzzy = false), SUMMER, WINTERSALE (a long
keyword: two edits allowed) and the conftest's POINTS and BROKEN. SMS_LANGUAGES = en,fr,es.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
from sqlalchemy import select

from selfserve.customers import pseudonym
from selfserve.models import InboundMessage, OptOut
from tests.conftest import (
    SPRING_CAMPAIGNS,
    _build_app,
    import_campaigns_text,
    new_message_sid,
    reply_text,
    send_text,
)

KEYWORD_CAMPAIGNS = (
    SPRING_CAMPAIGNS
    + """
[[campaign]]
slug = "sprint"
name = "Sprint race"
keywords = ["SPRINT"]
fuzzy = false
action = "coupon"
application_id = 12
campaign_id = 56

[[campaign]]
slug = "summer"
name = "Summer sale"
keywords = ["SUMMER"]
language = "fr"
action = "coupon"
application_id = 12
campaign_id = 57

[[campaign]]
slug = "winter"
name = "Winter sale"
keywords = ["WINTERSALE"]
action = "coupon"
application_id = 12
campaign_id = 58
"""
)
CODE = re.compile(r"code: (\S+) ")


@pytest.fixture
def keyword_app(settings):
    """The app with the keyword book and three languages."""
    application = _build_app(replace(settings, sms_languages="en,fr,es"))
    import_campaigns_text(application, KEYWORD_CAMPAIGNS)
    yield application
    application.extensions["selfserve"].close()


@pytest.fixture
def keyword_client(keyword_app):
    return keyword_app.test_client()


def logged(app, message_sid):
    """The message-log row of one text (the fast path writes it in a batch)."""
    services = app.extensions["selfserve"]
    services.returning.flush()
    with services.sessions() as db:
        return db.scalars(
            select(InboundMessage).where(InboundMessage.message_sid == message_sid)
        ).one()


def is_opted_out(app, phone):
    with app.extensions["selfserve"].sessions() as db:
        row = db.get(OptOut, phone)
        return row is not None and row.opted_out


# (text, campaign slug or None, matched_by or outcome)
TEXTS = [
    # exact
    ("SPRING", "spring", "exact"),
    ("spring", "spring", "exact"),
    ("Spring!!", "spring", "exact"),
    ("  bloom 🌸", "spring", "exact"),
    ("SPRING please", "spring", "exact"),
    ("🌸🌸 SPRING", "spring", "exact"),
    ("Sprint", "sprint", "exact"),
    ("summer.", "summer", "exact"),
    ("WinterSale", "winter", "exact"),
    # look-alikes: accents, other scripts, digits
    ("5PRING", "spring", "lookalike"),
    ("SPRÏNG", "spring", "lookalike"),
    ("spríng", "spring", "lookalike"),
    ("SPR1NG", "spring", "lookalike"),
    ("BL00M", "spring", "lookalike"),
    ("8LOOM", "spring", "lookalike"),
    ("SUMM3R", "summer", "lookalike"),
    ("ＳＰＲＩＮＧ", "spring", "exact"),  # full-width letters: NFKC makes them plain
    ("S P R I N G", "spring", "lookalike"),
    ("Sprіng", "spring", "lookalike"),  # a Cyrillic і
    ("СПРИНГ", "spring", "lookalike"),  # typed in Cyrillic
    ("\u200fSPRING\u200f", "spring", "exact"),  # RTL marks around it
    ("SPR\u200dING", "spring", "lookalike"),  # a zero-width joiner inside
    # a keyword anywhere in a short sentence
    ("can I get the spring deal", "spring", "word"),
    ("can i get the spring deal pls", "spring", "word"),
    ("hi! SPRING?", "spring", "word"),
    ("I want bloom", "spring", "word"),
    ("the spring and bloom one", "spring", "word"),  # two keywords, one campaign
    ("hello summer", "summer", "word"),
    ("please 5PRING thanks", "spring", "word"),
    ("Hey, winter sale?", None, "unknown_keyword"),  # two words: not the keyword
    ("can i get spring or summer", None, "ambiguous_keyword"),
    ("one two three four five six seven eight nine spring", None, "unknown_keyword"),
    # typos: one edit for 4-7 letters, two for 8 or more
    ("SPRNG", "spring", "typo"),
    ("SPRIGN", "spring", "typo"),
    ("SPRINGG", "spring", "typo"),
    ("SPEING", "spring", "typo"),
    ("BLOM", "spring", "typo"),
    ("BLOOMM", "spring", "typo"),
    ("SUMER", "summer", "typo"),
    ("SUMMRE", "summer", "typo"),
    ("WINTRSALE", "winter", "typo"),
    ("WNTERSAL", "winter", "typo"),
    ("WINTERSALES!", "winter", "typo"),
    ("SPRNGG", None, "unknown_keyword"),  # two edits from a 6-letter keyword
    ("WNTRSL", None, "unknown_keyword"),  # three edits
    ("POINT", "points", "typo"),
    # the fuzzy = false campaign matches exactly only
    ("SPRIN", None, "ambiguous_keyword"),  # one edit from SPRING and from SPRINT
    ("SPRINTT", None, "unknown_keyword"),
    ("5PRINT", None, "unknown_keyword"),
    ("can I get the sprint deal", None, "unknown_keyword"),
    # short, empty or nothing like a keyword
    ("SPR", None, "unknown_keyword"),
    ("hi", None, "unknown_keyword"),
    ("", None, "unknown_keyword"),
    ("🌸🌸🌸", None, "unknown_keyword"),
    ("\u200f\u200d", None, "unknown_keyword"),
    ("你好", None, "unknown_keyword"),
    ("مرحبا", None, "unknown_keyword"),
    ("x" * 400, None, "unknown_keyword"),
    # compliance words before keywords, in the enabled languages
    ("STOPP", None, "opted_out"),
    ("SOTP", None, "opted_out"),
    ("stop pls", None, "opted_out"),
    ("S T O P", None, "opted_out"),
    ("Stop!!", None, "opted_out"),
    ("ARRÊT", None, "opted_out"),
    ("arret", None, "opted_out"),
    ("Désabonner", None, "opted_out"),
    ("ALTO", None, "opted_out"),
    ("baja", None, "opted_out"),
    ("UNSUBSCRIBEE", None, "opted_out"),
    ("AIDE", None, "help"),
    ("ayuda", None, "help"),
    ("HELPP", None, "unknown_keyword"),  # HELP stays exact
    ("STARTT", None, "unknown_keyword"),  # START stays exact
    ("HILFE", None, "unknown_keyword"),  # German is not enabled here
]


@pytest.mark.parametrize(("body", "slug", "how"), TEXTS, ids=[repr(t[0])[:40] for t in TEXTS])
def test_a_real_looking_text_finds_what_it_meant(
    keyword_app, keyword_client, talon_stand_in, settings, body, slug, how
):
    # The texter has a loyalty profile at Talon.One (unknown profiles are a 404 there).
    talon_stand_in.add_profile(pseudonym("+61491570190", settings.identity_secret), 7)
    sid = new_message_sid()
    response = send_text(keyword_client, body, sender="+61491570190", message_sid=sid)
    assert response.status_code == 200
    row = logged(keyword_app, sid)
    assert row.campaign_slug == slug
    if slug is not None:
        assert row.matched_by == how
        assert row.outcome == ("loyalty_balance" if slug == "points" else "code_issued")
    else:
        assert row.outcome == how
        assert row.matched_by == ("ambiguous" if how == "ambiguous_keyword" else None)
    assert len(TEXTS) >= 60


@pytest.mark.parametrize("near_miss", ["SPRNG", "5PRING", "Spring!!", "can I get the spring deal"])
def test_near_misses_give_the_same_code_as_the_keyword(keyword_client, near_miss):
    first = reply_text(send_text(keyword_client, "SPRING", sender="+61491570191"))
    again = reply_text(send_text(keyword_client, near_miss, sender="+61491570191"))
    assert CODE.search(first).group(1) == CODE.search(again).group(1)


def test_a_text_between_two_keywords_is_asked_about_not_guessed(keyword_client):
    reply = reply_text(send_text(keyword_client, "SPRIN"))
    assert "SPRING" in reply
    assert "SPRINT" in reply
    assert "code" not in reply
    assert len(reply) <= 160


def test_a_text_too_short_to_guess_gets_the_unknown_keyword_answer(keyword_client):
    assert reply_text(send_text(keyword_client, "SPR")).startswith("Sorry, we didn't recognise")


@pytest.mark.parametrize("body", ["STOPP", "stop pls"])
def test_a_misspelt_stop_opts_out_and_confirms(keyword_app, keyword_client, body):
    reply = reply_text(send_text(keyword_client, body, sender="+61491570192"))
    assert reply.startswith("You're unsubscribed")
    assert is_opted_out(keyword_app, "+61491570192")
    exported = keyword_app.test_cli_runner().invoke(args=["consent", "export", "--reveal"])
    assert exported.exit_code == 0
    assert "+61491570192" in exported.output
    assert "revoked" in exported.output


def test_twilio_confirms_its_own_stop_so_we_answer_nothing(keyword_client):
    assert reply_text(send_text(keyword_client, "STOP")) is None


def test_french_and_spanish_stop_words_opt_out_and_start_opts_back_in(keyword_app, keyword_client):
    french = reply_text(send_text(keyword_client, "ARRÊT", sender="+61491570193"))
    assert is_opted_out(keyword_app, "+61491570193")
    assert french.startswith("Vous êtes désabonné")
    send_text(keyword_client, "START", sender="+61491570193")
    assert not is_opted_out(keyword_app, "+61491570193")
    spanish = reply_text(send_text(keyword_client, "ALTO", sender="+61491570194"))
    assert is_opted_out(keyword_app, "+61491570194")
    assert spanish.startswith("Te has dado de baja")


def test_aide_gets_a_french_help_text(keyword_client):
    english = reply_text(send_text(keyword_client, "HELP"))
    french = reply_text(send_text(keyword_client, "AIDE"))
    assert english.startswith("Acme") or "keyword" in english
    assert "ARRET" in french
    assert french != english


def test_unknown_keyword_answers_in_the_language_last_used(keyword_client):
    send_text(keyword_client, "AYUDA", sender="+61491570195")
    reply = reply_text(send_text(keyword_client, "hola", sender="+61491570195"))
    assert reply.startswith("Lo sentimos")
    assert reply_text(send_text(keyword_client, "hola", sender="+61491570196")).startswith("Sorry")


def test_the_campaigns_own_reply_is_never_translated_but_our_texts_are(keyword_client):
    reply = reply_text(send_text(keyword_client, "SUMMER", sender="+61491570197"))
    assert reply.startswith("Your Summer sale code")  # the campaign's (default) reply


def test_a_long_emoji_body_is_answered_within_a_second(keyword_client):
    started = time.monotonic()
    response = send_text(keyword_client, "🌸" * 1600)
    assert response.status_code == 200
    assert time.monotonic() - started < 1.0
    assert reply_text(response).startswith("Sorry, we didn't recognise")


def test_the_campaign_page_shows_near_misses_and_how_each_matched(keyword_app, keyword_client):
    from tests.console_support import create_console_user, log_in

    send_text(keyword_client, "SPRNG", sender="+61491570198")
    send_text(keyword_client, "SPRNG", sender="+61491570199")
    send_text(keyword_client, "5PRING", sender="+61491570198")
    send_text(keyword_client, "SPRIN", sender="+61491570198")
    send_text(keyword_client, "SPRING", sender="+61491570198")
    send_text(keyword_client, "SUMER", sender="+61491570198")
    create_console_user(keyword_app)
    assert log_in(keyword_client).status_code == 302
    page = keyword_client.get("/admin/campaigns/spring").get_data(as_text=True)
    table = page[page.index('id="near-misses"') :]
    assert '<td>SPRNG</td><td>SPRING</td><td>typo</td><td class="num">2</td>' in table
    assert "<td>5PRING</td><td>SPRING</td><td>lookalike</td>" in table
    assert "<td>SPRIN</td><td>asked which they meant</td><td>ambiguous</td>" in table
    assert "SUMER" not in table  # another campaign's
    assert "<td>SPRING</td><td>SPRING</td>" not in table  # exact texts are no near miss
