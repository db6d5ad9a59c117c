"""Campaigns in the console: create, edit, pause, the dry-run test button and posters."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
from PIL import Image
from pyzbar.pyzbar import decode
from sqlalchemy import func, select

from selfserve.campaigns import import_campaigns
from selfserve.errors import CampaignFileError
from selfserve.models import Campaign, IssuedCoupon
from tests.conftest import PUBLIC_BASE_URL, reply_text, send_text
from tests.console_support import create_console_user, csrf_token, log_in

AUTUMN = {
    "name": "Autumn treats",
    "slug": "autumn",
    "keywords": "autumn, LEAVES",
    "action": "coupon",
    "active": "on",
    "application_id": "12",
    "campaign_id": "56",
    "identifier": "{customer_id}:{campaign_id}",
    "reply": "Your autumn code: {code}",
}


@pytest.fixture
def console(app, client):
    """A client logged in to the console."""
    create_console_user(app)
    assert log_in(client).status_code == 302
    return client


def submit(console, action: str, form: dict[str, str], page: str | None = None):
    return console.post(action, data={**form, "csrf_token": csrf_token(console, page or action)})


def stored(app, slug: str):
    with app.extensions["selfserve"].sessions() as db:
        return db.scalar(select(Campaign).where(Campaign.slug == slug))


def field_errors(html: str, field: str) -> str:
    """The error text shown next to one field (empty when there is none)."""
    found = re.search(rf'<div id="{field}-error">(.*?)</div>', html, re.DOTALL)
    return unescape(re.sub(r"<[^>]+>", " ", found.group(1))) if found else ""


class TestCreate:
    def test_a_valid_form_creates_the_campaign_and_its_keywords_answer(self, app, console):
        response = submit(console, "/admin/campaigns/new", AUTUMN)
        assert response.status_code == 302
        assert response.headers["Location"] == "/admin/campaigns/autumn"
        row = stored(app, "autumn")
        assert row.definition["keywords"] == ["AUTUMN", "LEAVES"]
        assert row.definition["application_id"] == 12
        assert row.active is True
        assert "Autumn treats" in console.get("/admin/campaigns").get_data(as_text=True)
        assert reply_text(send_text(app.test_client(), "leaves please")).startswith(
            "Your autumn code: T1-"
        )

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"slug": "Autumn Sale"}, "slug", "use lower-case letters"),
            ({"keywords": "AUTUMN, STOP"}, "keywords", "STOP is reserved"),
            ({"keywords": "SPRING"}, "keywords", "SPRING is already used by spring"),
            ({"reply": "Your code {coupon}"}, "reply", "unknown placeholder {coupon}"),
            ({"identifier": "{campaign_id}"}, "identifier", "must contain {customer_id}"),
            ({"application_id": ""}, "application_id", "is required"),
            ({"campaign_id": "thirty"}, "campaign_id", "must be a whole number"),
            ({"brand_colour": "green"}, "brand_colour", "must be a colour like #0a7d3b"),
            ({"slug": "spring"}, "slug", "spring is already taken"),
        ],
    )
    def test_a_problem_is_shown_next_to_its_field_and_nothing_is_saved(
        self, app, console, change, field, message
    ):
        response = submit(console, "/admin/campaigns/new", {**AUTUMN, **change})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert message in field_errors(html, field)
        assert f'id="f-{field}"' in html
        assert "Nothing was saved" in html
        assert stored(app, "autumn") is None
        with app.extensions["selfserve"].sessions() as db:
            assert db.scalar(select(func.count()).select_from(Campaign)) == 3

    def test_every_problem_shows_at_once_next_to_its_field(self, console):
        bad = {**AUTUMN, "slug": "Bad Slug", "keywords": "HELP", "application_id": ""}
        html = submit(console, "/admin/campaigns/new", bad).get_data(as_text=True)
        assert "is required" in field_errors(html, "application_id")
        assert "use lower-case letters" in field_errors(html, "slug")
        assert "HELP is reserved" in field_errors(html, "keywords")
        assert "fix 3 fields" in html

    def test_the_form_says_what_the_import_command_says(self, app, console):
        bad = {**AUTUMN, "reply": "Your code {coupon}"}
        html = submit(console, "/admin/campaigns/new", bad).get_data(as_text=True)
        with (
            app.extensions["selfserve"].writes.begin() as db,
            pytest.raises(CampaignFileError) as raised,
        ):
            import_campaigns(
                db,
                '[[campaign]]\nslug = "autumn"\nname = "Autumn treats"\n'
                'keywords = ["AUTUMN"]\napplication_id = 12\ncampaign_id = 56\n'
                'reply = "Your code {coupon}"\n',
            )
        (problem,) = raised.value.problems
        assert problem.startswith("campaign autumn, field reply: ")
        assert problem.split(": ", 1)[1] in field_errors(html, "reply")

    def test_the_form_keeps_what_was_typed_when_it_has_problems(self, console):
        html = submit(console, "/admin/campaigns/new", {**AUTUMN, "slug": "Bad Slug"}).get_data(
            as_text=True
        )
        assert 'value="Bad Slug"' in html
        assert "Your autumn code: {code}" in html


class TestEdit:
    def test_saving_the_form_unchanged_changes_nothing(self, app, console):
        page = console.get("/admin/campaigns/spring").get_data(as_text=True)
        assert re.search(r'id="f-active" name="active"\s+checked', page)
        before = stored(app, "spring").definition
        form = {
            "name": "Spring 20% off",
            "keywords": "SPRING, BLOOM",
            "action": "coupon",
            "active": "on",
            "application_id": "12",
            "campaign_id": "34",
            "external_campaign_id": "sms-spring",
            "identifier": "{customer_id}:{campaign_id}",
            "recipient": "on",
            "reply": before["reply"],
        }
        response = submit(console, "/admin/campaigns/spring", form)
        assert response.status_code == 302
        assert stored(app, "spring").definition == before

    def test_an_edit_is_saved_and_used_for_the_next_text(self, app, console):
        form = {**AUTUMN, "name": "Spring 20% off", "keywords": "SPRING, BLOOM"}
        form["reply"] = "Spring code {code}!"
        assert submit(console, "/admin/campaigns/spring", form).status_code == 302
        assert stored(app, "spring").definition["reply"] == "Spring code {code}!"
        assert reply_text(send_text(app.test_client(), "SPRING")).startswith("Spring code T1-")

    def test_the_slug_of_a_saved_campaign_cannot_change(self, app, console):
        form = {**AUTUMN, "slug": "renamed", "keywords": "SPRING"}
        assert submit(console, "/admin/campaigns/spring", form).status_code == 302
        assert stored(app, "renamed") is None
        assert stored(app, "spring").name == "Autumn treats"

    def test_an_edit_with_a_problem_saves_nothing(self, app, console):
        before = stored(app, "spring").definition
        form = {**AUTUMN, "keywords": "POINTS"}
        response = submit(console, "/admin/campaigns/spring", form)
        assert response.status_code == 422
        assert "POINTS is already used by points" in field_errors(
            response.get_data(as_text=True), "keywords"
        )
        assert stored(app, "spring").definition == before

    def test_an_unknown_campaign_is_a_404(self, console):
        assert console.get("/admin/campaigns/nope").status_code == 404


class TestPause:
    def test_pausing_ends_the_offer_for_customers_and_resuming_restores_it(self, app, console):
        response = submit(console, "/admin/campaigns/spring/pause", {}, page="/admin/campaigns")
        assert response.status_code == 302
        assert stored(app, "spring").active is False
        assert "has ended" in reply_text(send_text(app.test_client(), "SPRING"))
        submit(console, "/admin/campaigns/spring/resume", {}, page="/admin/campaigns")
        assert stored(app, "spring").active is True
        assert reply_text(send_text(app.test_client(), "SPRING")).startswith("Your Spring code")


class TestDryRun:
    def test_the_test_button_asks_talon_with_x_dry_run_and_stores_nothing(
        self, app, console, talon_stand_in
    ):
        response = submit(
            console, "/admin/campaigns/spring/test", {}, page="/admin/campaigns/spring"
        )
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "It works" in html
        assert "Your Spring code: T1-" in html
        (request,) = talon_stand_in.coupon_requests()
        assert request.headers["X-DRY-RUN"] == "true"
        assert request.args["applicationId"] == "12"
        assert request.args["campaignId"] == "34"
        assert request.headers["Authorization"] == "ApiKey-v1 talon-test-key"
        with app.extensions["selfserve"].sessions() as db:
            assert db.scalar(select(func.count()).select_from(IssuedCoupon)) == 0
        assert talon_stand_in.coupons == {}  # Talon.One stored nothing either

    def test_a_misconfigured_campaign_shows_talons_refusal_and_what_to_check(
        self, console, talon_stand_in
    ):
        response = submit(console, "/admin/campaigns/broken/test", {}, page="/admin/campaigns")
        html = unescape(response.get_data(as_text=True))
        assert "It does not work yet" in html
        assert "Talon.One refused: 404" in html
        assert "check IDs" in html
        assert talon_stand_in.last_request.headers["X-DRY-RUN"] == "true"

    @pytest.mark.xfail(
        strict=True,
        reason="the rehearsal asks the ledger of a made-up profile, which Talon.One answers"
        " 404 (unknown profile): the test button reports a working loyalty campaign as"
        " misconfigured (issue 22, noted for selfserve/rehearsal.py)",
    )
    def test_a_loyalty_campaign_is_tested_with_x_dry_run_too(self, console, talon_stand_in):
        html = submit(
            console, "/admin/campaigns/points/test", {}, page="/admin/campaigns"
        ).get_data(as_text=True)
        assert "It works" in html
        assert "You have 10.5 points" in html
        assert talon_stand_in.last_request.path == "/customer_engagement/loyalty"
        assert talon_stand_in.last_request.headers["X-DRY-RUN"] == "true"

    def test_talon_being_down_is_reported_not_a_500(self, console, talon_stand_in):
        talon_stand_in.down = True
        response = submit(console, "/admin/campaigns/spring/test", {}, page="/admin/campaigns")
        assert response.status_code == 200
        assert "Talon.One did not answer" in response.get_data(as_text=True)


class TestPosters:
    @pytest.mark.parametrize(
        ("fmt", "mimetype", "magic"),
        [
            ("png", "image/png", b"\x89PNG"),
            ("svg", "image/svg+xml", b"<"),
            ("pdf", "application/pdf", b"%PDF"),
        ],
    )
    def test_each_format_downloads_as_a_named_file(self, console, fmt, mimetype, magic):
        response = console.get(f"/admin/campaigns/spring/posters/sms.{fmt}")
        assert response.status_code == 200
        assert response.mimetype == mimetype
        assert response.data.startswith(magic)
        assert response.headers["Content-Disposition"] == f'attachment; filename="spring-sms.{fmt}"'

    def test_a_web_poster_encodes_the_tracked_landing_url(self, console):
        response = console.get("/admin/campaigns/spring/posters/web.png?src=shop-12")
        assert response.headers["Content-Disposition"].endswith('"spring-web-shop-12.png"')
        (symbol,) = decode(Image.open(io.BytesIO(response.data)))
        assert symbol.data.decode() == f"{PUBLIC_BASE_URL}/q/spring?src=shop-12"

    def test_a_bad_location_is_explained_not_a_500(self, console):
        response = console.get("/admin/campaigns/spring/posters/web.png?src=../etc")
        assert response.status_code == 302
        assert "Could not make that poster" in console.get("/admin/campaigns/spring").get_data(
            as_text=True
        )

    def test_the_campaign_page_links_every_poster(self, console):
        html = console.get("/admin/campaigns/spring").get_data(as_text=True)
        for mode in ("sms", "web"):
            for fmt in ("pdf", "png", "svg"):
                assert f"/admin/campaigns/spring/posters/{mode}.{fmt}" in html


class TestOtherActions:
    def test_a_loyalty_campaign_ignores_the_hidden_coupon_inputs(self, app, console):
        form = {**AUTUMN, "action": "loyalty", "loyalty_program_id": "7"}
        form["reply"] = "You have {balance} points"
        assert submit(console, "/admin/campaigns/new", form).status_code == 302
        definition = stored(app, "autumn").definition
        assert definition["action"] == "loyalty"
        assert definition["loyalty_program_id"] == 7
        assert "application_id" not in definition

    def test_an_opt_in_campaign_is_created_and_its_test_explains_there_is_nothing_to_test(
        self, app, console, talon_stand_in
    ):
        form = {
            "name": "Acme news",
            "slug": "news",
            "keywords": "NEWS",
            "action": "subscribe",
            "active": "on",
            "reply": "Reply Y to get {name} offers by SMS. Reply STOP to opt out.",
        }
        assert submit(console, "/admin/campaigns/new", form).status_code == 302
        assert stored(app, "news").definition["action"] == "subscribe"
        html = submit(console, "/admin/campaigns/news/test", {}, page="/admin/campaigns").get_data(
            as_text=True
        )
        assert "does not call Talon.One" in html
        assert talon_stand_in.requests == []
