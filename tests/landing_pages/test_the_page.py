"""The landing page itself (what a scan shows) and its visit counts."""

from __future__ import annotations

import re

import pytest

from selfserve.models import (
    LandingVisit,
    utcnow,
)
from tests.conftest import (
    import_campaigns_text,
)
from tests.landing_pages.conftest import (
    SqliteOnly,
    rows,
    spring_with,
)
from tests.phone_visitor import (
    ANDROID,
    IPHONE,
    PhoneVisitor,
    number_form,
    read_forms,
)


class TestTheLandingPage(SqliteOnly):
    def test_the_page_names_the_campaign_and_offers_a_number_form(self, app, visitor):
        import_campaigns_text(
            app,
            spring_with('offer = "20% off everything in store"', keywords='["SPRING", "BLOOM"]'),
        )
        response = visitor.scan()
        assert response.status_code == 200
        assert "Spring 20% off" in visitor.page
        assert "20% off everything in store" in visitor.page
        assert 'name="viewport"' in visitor.page
        field = number_form(visitor.page).number_field()
        assert field.type == "tel"
        assert field.name == "phone"
        assert field.attributes["autocomplete"] == "tel"
        assert re.search(r'<label for="phone">[^<]+</label>', visitor.page)

    def test_the_page_loads_nothing_from_other_sites(self, visitor):
        visitor.scan()
        # Links that load something (the favicon) are our own; rel=canonical loads nothing.
        loads = re.findall(r"<(?:img|script|link|iframe|source|object|embed)\b[^>]*>", visitor.page)
        assert loads
        for tag in loads:
            if 'rel="canonical"' not in tag:
                assert not re.search(r'(src|href)="(https?:)?//', tag), tag
        assert 'rel="stylesheet"' not in visitor.page  # the page's CSS is in the page

    def test_the_text_instead_link_fits_the_phone(self, client):
        for user_agent, link in [
            (IPHONE, "sms:+61480000000&amp;body=SPRING"),
            (ANDROID, "sms:+61480000000?body=SPRING"),
            ("Mozilla/5.0 (X11; Linux x86_64)", "sms:+61480000000?body=SPRING"),
        ]:
            visitor = PhoneVisitor(client, user_agent=user_agent)
            visitor.scan()
            assert f'href="{link}"' in visitor.page, user_agent
            assert "Text SPRING to 0480 000 000 instead" in visitor.text

    def test_a_campaign_number_wins_over_the_twilio_number(self, app, visitor):
        import_campaigns_text(app, spring_with('sms_number = "0491 570 999"'))
        visitor.scan()
        assert 'href="sms:+61491570999?body=SPRING"' in visitor.page
        assert "Text SPRING to 0491 570 999 instead" in visitor.text

    def test_an_unknown_slug_gets_a_friendly_404(self, visitor):
        for slug in ["nope", "SPRING", "a" * 300, "%3Cscript%3E", "spring%00"]:
            response = visitor.get(f"/q/{slug}")
            assert response.status_code == 404, slug
            assert "can't find that offer" in visitor.text
            assert "<script>" not in visitor.page

    @pytest.mark.parametrize(
        ("action", "extra"),
        [
            ("subscribe", 'reply = "Reply Y to get Acme offers. Reply STOP to cancel."'),
            ("birthday", 'application_id = 12\ncampaign_id = 34\nreply = "Happy birthday! {code}"'),
        ],
    )
    def test_campaigns_with_nothing_to_claim_on_a_page_get_a_friendly_404(
        self, app, visitor, action, extra
    ):
        # A sign-up (JOIN) or a birthday text has no coupon to show on a page: the number form
        # would have nothing to give, so the page is not served (and never answers 500).
        import_campaigns_text(
            app,
            f"""
[[campaign]]
slug = "club"
name = "Acme club"
keywords = ["JOIN"]
action = "{action}"
{extra}
""",
        )
        response = visitor.get("/q/club")
        assert response.status_code == 404
        assert "can't find that offer" in visitor.text
        assert read_forms(visitor.page) == []

    def test_an_inactive_campaign_gets_a_friendly_404(self, app, visitor, twilio_stand_in):
        import_campaigns_text(app, spring_with("active = false"))
        assert visitor.scan().status_code == 404
        assert "has ended" in visitor.text
        assert read_forms(visitor.page) == []

    def test_the_brand_colours_and_logo_style_the_page(self, app, visitor):
        import_campaigns_text(
            app,
            spring_with("""
brand_colour = "#0A7D3B"
accent_colour = "#FFD23F"
logo_url = "https://shop.example.com/logo.png"
"""),
        )
        visitor.scan()
        assert "--brand: #0a7d3b;" in visitor.page
        assert "--accent: #ffd23f;" in visitor.page
        assert "--on-accent: #111111;" in visitor.page  # dark text on a light yellow button
        assert '<img class="logo" src="https://shop.example.com/logo.png"' in visitor.page

    def test_a_script_logo_url_is_not_rendered(self, app, visitor):
        import_campaigns_text(app, spring_with('logo_url = "javascript:alert(1)"'))
        visitor.scan()
        assert "javascript:" not in visitor.page

    def test_pages_forbid_framing_caching_and_foreign_scripts(self, client):
        response = client.get("/q/spring")
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'nonce-" in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["Cache-Control"] == "no-store"
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        assert f'<style nonce="{nonce}">' in response.get_data(as_text=True)


class TestCountingVisits:
    def test_visits_are_counted_per_campaign_and_source(self, app, client):
        visitor = PhoneVisitor(client)
        visitor.scan(src="front-door")
        visitor.scan(src="front-door")
        visitor.scan(src="till-2")
        visitor.scan(src=None)
        visitor.scan(src="%3Cscript%3E")  # not a location token: counted without a source
        visitor.scan(slug="points", src="front-door")
        counts = {(v.campaign_slug, v.source): v.visits for v in rows(app, LandingVisit)}
        assert counts == {
            ("spring", "front-door"): 2,
            ("spring", "till-2"): 1,
            ("spring", ""): 2,
            ("points", "front-door"): 1,
        }
        assert all(v.day == utcnow().date() for v in rows(app, LandingVisit))
