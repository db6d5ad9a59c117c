"""Code pages over HTTP: the {code_url} link in a signed text's reply, the page, its barcodes.

Barcodes are decoded by zbar (pyzbar), the SVG after CairoSVG rasterises it: the encoder is
never trusted. The Talon.One code comes from the stand-in on a real socket.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace

import cairosvg
import pytest
from PIL import Image
from pyzbar import pyzbar

from app import create_app
from tests.conftest import (
    PUBLIC_BASE_URL,
    import_campaigns_text,
    reply_text,
    send_text,
    wait_for,
)

CAMPAIGNS = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING"]
application_id = 12
campaign_id = 34
reply = "Your Spring code: {code}. Show it at the till: {code_url}"
barcode = "{barcode}"
"""
LINK = re.compile(re.escape(PUBLIC_BASE_URL) + r"/c/([A-Za-z0-9_-]+)")


def decoded(image_bytes: bytes) -> list[tuple[str, str]]:
    """(symbology, text) of every barcode zbar finds in a PNG."""
    image = Image.open(io.BytesIO(image_bytes)).convert("L")
    return [(found.type, found.data.decode()) for found in pyzbar.decode(image)]


def code_and_token(client, sender: str = "+61491570156") -> tuple[str, str]:
    """Text SPRING; the code and the code page's token from the reply."""
    text = reply_text(send_text(client, "SPRING", sender=sender)) or ""
    code = re.search(r"code: (\S+)\.", text)
    link = LINK.search(text)
    assert code is not None, text
    assert link is not None, text
    return code.group(1), link.group(1)


@pytest.fixture
def with_campaign(app, request):
    kind = getattr(request, "param", "code128")
    import_campaigns_text(app, CAMPAIGNS.replace("{barcode}", kind))
    return kind


def test_the_reply_links_to_a_short_code_page_and_texting_again_gives_the_same_link(
    client, with_campaign
):
    code, token = code_and_token(client)
    assert len(token) <= 16
    assert code_and_token(client) == (code, token)
    assert code_and_token(client, sender="+61491570157")[1] != token  # another person

    page = client.get(f"/c/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert code in html
    assert "Spring 20% off" in html
    assert 'name="robots" content="noindex"' in html
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]


def test_the_barcode_png_and_svg_decode_to_exactly_the_code(client, with_campaign):
    code, token = code_and_token(client)
    png = client.get(f"/c/{token}/barcode.png")
    assert png.status_code == 200
    assert png.mimetype == "image/png"
    assert decoded(png.data) == [("CODE128", code)]
    svg = client.get(f"/c/{token}/barcode.svg")
    assert svg.mimetype == "image/svg+xml"
    rendered = cairosvg.svg2png(bytestring=svg.data, output_width=900, background_color="white")
    assert decoded(rendered) == [("CODE128", code)]


@pytest.mark.parametrize("with_campaign", ["qr"], indirect=True)
def test_a_qr_campaign_draws_a_qr_code(client, with_campaign):
    code, token = code_and_token(client)
    assert decoded(client.get(f"/c/{token}/barcode.png").data) == [("QRCODE", code)]


@pytest.mark.parametrize("with_campaign", ["none"], indirect=True)
def test_a_campaign_without_barcode_shows_the_code_but_serves_no_picture(client, with_campaign):
    code, token = code_and_token(client)
    assert code in client.get(f"/c/{token}").get_data(as_text=True)
    assert client.get(f"/c/{token}/barcode.png").status_code == 404


def _altered(token: str) -> str:
    return token[:5] + ("A" if token[5] != "A" else "B") + token[6:]


def test_an_altered_unknown_or_malformed_token_gets_the_same_plain_404(client, with_campaign):
    code, token = code_and_token(client)
    answers = [
        client.get(path)
        for path in (
            f"/c/{_altered(token)}",
            "/c/AAAAAAAAAAAAAAAA",
            "/c/not-a-token",
            "/c/" + "x" * 300,
            f"/c/{_altered(token)}/barcode.png",
            f"/c/{token}/barcode.gif",
        )
    ]
    assert [answer.status_code for answer in answers] == [404] * 6
    page_texts = {  # the same page but for its CSP nonce
        re.sub(r'nonce="[^"]*"', "", answer.get_data(as_text=True)) for answer in answers[:4]
    }
    assert len(page_texts) == 1  # nothing tells an altered token from a made-up one
    assert code not in page_texts.pop()


def test_without_wallet_settings_both_wallet_routes_answer_404_and_show_no_button(
    client, with_campaign
):
    _, token = code_and_token(client)
    assert client.get(f"/c/{token}/pass.pkpass").status_code == 404
    html = client.get(f"/c/{token}").get_data(as_text=True)
    assert "Apple Wallet" not in html
    assert "Google Wallet" not in html


def test_code_pages_are_throttled_per_address(settings, talon_stand_in):
    app = create_app(replace(settings, code_page_limit_per_ip="3 per minute"))
    try:
        client = app.test_client()
        statuses = [client.get("/c/AAAAAAAAAAAAAAAA").status_code for _ in range(4)]
        assert statuses == [404, 404, 404, 429]
    finally:
        app.extensions["selfserve"].close()


def test_an_mms_campaign_sends_the_barcode_png_as_media_in_the_twiml(client, app):
    from xml.etree import ElementTree

    import_campaigns_text(app, CAMPAIGNS.replace("{barcode}", "code128") + "mms = true\n")
    answer = send_text(client, "SPRING")
    media = ElementTree.fromstring(answer.data).findall("Message/Media")  # noqa: S314 - ours
    assert len(media) == 1
    assert media[0].text.startswith(PUBLIC_BASE_URL + "/c/")
    code, _ = code_and_token(client)  # texting again: the same code
    picture = client.get(media[0].text.removeprefix(PUBLIC_BASE_URL))
    assert picture.mimetype == "image/png"
    assert decoded(picture.data) == [("CODE128", code)]


def test_without_mms_the_twiml_has_no_media(client, with_campaign):
    assert b"<Media>" not in send_text(client, "SPRING").data


@pytest.mark.parametrize("mms", [True, False])
def test_an_owed_code_texted_later_carries_the_barcode_png_as_media_url_with_mms(
    client, app, talon_stand_in, twilio_stand_in, worker, mms
):
    campaign = CAMPAIGNS.replace("{barcode}", "code128") + ("mms = true\n" if mms else "")
    import_campaigns_text(app, campaign)
    talon_stand_in.down = True
    deferred = reply_text(send_text(client, "SPRING", sender="+61491570156")) or ""
    assert "code:" not in deferred  # owed: no code in the reply
    talon_stand_in.down = False
    wait_for(lambda: twilio_stand_in.messages_to("+61491570156"), what="the owed code by SMS")
    [sent] = twilio_stand_in.messages_to("+61491570156")
    code = re.search(r"code: (\S+)\.", sent.body).group(1)
    token = LINK.search(sent.body).group(1)
    if not mms:
        assert sent.media_urls == []
        return
    assert sent.media_urls == [f"{PUBLIC_BASE_URL}/c/{token}/barcode.png"]
    picture = client.get(sent.media_urls[0].removeprefix(PUBLIC_BASE_URL))
    assert picture.mimetype == "image/png"
    assert decoded(picture.data) == [("CODE128", code)]


def test_the_console_messages_view_links_each_issued_codes_page(
    client, app, talon_stand_in, twilio_stand_in, worker
):
    from tests.console_support import create_console_user, log_in

    import_campaigns_text(app, CAMPAIGNS.replace("{barcode}", "code128"))
    _, texted_token = code_and_token(client, sender="+61491570156")
    talon_stand_in.down = True
    send_text(client, "SPRING", sender="+61491570157")  # owed: texted by the worker later
    talon_stand_in.down = False
    wait_for(lambda: twilio_stand_in.messages_to("+61491570157"), what="the owed code by SMS")
    owed_token = LINK.search(twilio_stand_in.messages_to("+61491570157")[0].body).group(1)
    create_console_user(app)
    log_in(client)
    html = client.get("/admin/messages").get_data(as_text=True)
    links = re.findall(r'<a href="/c/([A-Za-z0-9_-]+)"[^>]*>Code page</a>', html)
    assert sorted(links) == sorted([texted_token, owed_token])
    assert client.get(f"/c/{owed_token}").status_code == 200
