"""WhatsApp posters and pages: `posters make SLUG --mode whatsapp` encodes a wa.me link with the
keyword, read back by zbarimg (an independent reader); landing pages offer the same link."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from app import create_app
from selfserve.console import PosterCampaign, PosterError, qr_payload
from tests.conftest import SPRING_CAMPAIGNS, import_campaigns_text

WHATSAPP_NUMBER = "+61480000099"
SPRING = PosterCampaign(
    "spring", "Spring", "SPRING", "+61480000000", whatsapp_number="+61480000099"
)


def zbarimg(path: Path) -> list[str]:
    """Every QR payload zbarimg finds in the image file."""
    binary = shutil.which("zbarimg")
    assert binary, "zbarimg (zbar-tools) is needed to read posters back"
    result = subprocess.run(  # noqa: S603 - our own file, a fixed tool
        [binary, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in result.stdout.splitlines() if line]


@pytest.fixture
def wa_runner(settings):
    application = create_app(replace(settings, whatsapp_number=WHATSAPP_NUMBER))
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    yield application.test_cli_runner()
    application.extensions["selfserve"].close()


def test_the_payload_is_a_wa_me_link_with_the_keyword():
    assert qr_payload(SPRING, "whatsapp", "", None) == "https://wa.me/61480000099?text=SPRING"


@pytest.mark.parametrize(
    ("campaign", "message"),
    [
        (replace(SPRING, whatsapp_number=""), "set WHATSAPP_NUMBER"),
        (replace(SPRING, whatsapp_number="0480 000 099"), "not an E.164 number"),
        (replace(SPRING, keyword=" "), "no keyword"),
    ],
)
def test_a_whatsapp_poster_that_cannot_work_is_refused(campaign, message):
    with pytest.raises(PosterError, match=re.escape(message)):
        qr_payload(campaign, "whatsapp", "", None)


def test_posters_make_whatsapp_scans_to_the_wa_me_link(wa_runner, tmp_path):
    out = tmp_path / "posters"
    args = ["posters", "make", "spring", "--mode", "whatsapp", "--format", "png", "--out", out]
    result = wa_runner.invoke(args=[str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    assert zbarimg(out / "spring-whatsapp.png") == ["https://wa.me/61480000099?text=SPRING"]


def test_without_whatsapp_set_up_the_command_says_what_to_set(runner, tmp_path):
    args = ["posters", "make", "spring", "--mode", "whatsapp", "--format", "png", "--out"]
    result = runner.invoke(args=[*args, str(tmp_path)])
    assert result.exit_code != 0
    assert "WHATSAPP_NUMBER" in result.output


class TestLandingPage:
    def test_it_offers_whatsapp_beside_the_sms_link_when_set_up(self, settings):
        application = create_app(replace(settings, whatsapp_number=WHATSAPP_NUMBER))
        import_campaigns_text(application, SPRING_CAMPAIGNS)
        page = application.test_client().get("/q/spring").get_data(as_text=True)
        application.extensions["selfserve"].close()
        assert 'href="https://wa.me/61480000099?text=SPRING"' in page
        assert "Get it on WhatsApp" in page
        assert 'href="sms:' in page

    def test_without_whatsapp_there_is_no_whatsapp_link(self, client):
        page = client.get("/q/spring").get_data(as_text=True)
        assert "wa.me" not in page
        assert "WhatsApp" not in page
