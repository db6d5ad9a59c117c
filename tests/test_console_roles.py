"""Roles: every console view is checked on the server, refusals are 403s and audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.admin.blueprint import PUBLIC_ENDPOINTS
from selfserve.models import AuditEvent, Campaign
from tests.console_support import PASSWORD, create_console_user, csrf_token, log_in

VIEWER = "viewer@acme.example"
EDITOR = "editor@acme.example"
OWNER = "owner@acme.example"


def _as(app, client, email: str, role: str):
    create_console_user(app, email, PASSWORD, role)
    assert log_in(client, email).status_code == 302
    return client


@pytest.fixture
def viewer(app, client):
    return _as(app, client, VIEWER, "viewer")


@pytest.fixture
def editor(app, client):
    return _as(app, client, EDITOR, "editor")


def _reply(app, slug: str = "spring") -> tuple[str, bool]:
    with app.extensions["selfserve"].sessions() as db:
        campaign = db.scalar(select(Campaign).where(Campaign.slug == slug))
    return campaign.definition["reply"], campaign.active


def _audit_rows(app) -> list[AuditEvent]:
    with app.extensions["selfserve"].sessions() as db:
        return list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))


class TestViewer:
    @pytest.mark.parametrize(
        ("path", "data"),
        [
            ("/admin/campaigns/spring", {"action": "coupon", "reply": "Hacked {code}"}),
            ("/admin/campaigns/spring/pause", {}),
            ("/admin/campaigns/spring/warm", {"budget_share": "0.5"}),
            ("/admin/campaigns/new", {"slug": "sneaky", "name": "Sneaky", "keywords": "SNEAK"}),
        ],
    )
    def test_a_change_is_a_403_naming_the_role_and_nothing_changes(self, app, viewer, path, data):
        before = _reply(app)
        token = csrf_token(viewer, "/admin/")
        answer = viewer.post(path, data={**data, "csrf_token": token})
        assert answer.status_code == 403
        assert "editor role" in answer.get_data(as_text=True)
        assert _reply(app) == before
        refused = _audit_rows(app)[-1]
        assert (refused.actor, refused.outcome) == (VIEWER, "refused (403): needs editor")

    def test_a_post_without_a_csrf_token_is_the_same_403(self, app, viewer):
        answer = viewer.post("/admin/campaigns/spring/pause")
        assert answer.status_code == 403
        assert _reply(app)[1] is True

    def test_sees_campaigns_and_posters_but_no_edit_control(self, viewer):
        listing = viewer.get("/admin/campaigns").get_data(as_text=True)
        page = viewer.get("/admin/campaigns/spring").get_data(as_text=True)
        for html in (listing, page):
            assert ">Edit<" not in html
            assert "/pause" not in html
            assert "/warm" not in html
            assert "Save changes" not in html
            assert "New campaign" not in html
        assert "Your Spring code" in page  # read-only details
        assert "/posters/web.png" in page
        assert viewer.get("/admin/campaigns/spring/posters/web.png").status_code == 200

    @pytest.mark.parametrize(
        "path",
        [
            "/admin/",
            "/admin/messages",
            "/admin/stats",
            "/admin/stats.csv",
            "/admin/stats/daily.csv",
        ],
    )
    def test_reads_the_dashboard_stats_and_masked_log(self, viewer, path):
        assert viewer.get(path).status_code == 200

    @pytest.mark.parametrize(
        ("path", "name"),
        [("/admin/stats.csv", "selfserve-funnel-"), ("/admin/stats/daily.csv", "selfserve-stats-")],
    )
    def test_a_stats_download_is_audited(self, app, viewer, path, name):
        download = viewer.get(path)
        assert download.headers["Content-Disposition"].startswith("attachment")
        row = _audit_rows(app)[-1]
        assert (row.actor, row.action, row.outcome) == (VIEWER, "download", "ok")
        assert row.target.startswith(name)
        assert row.target.endswith(".csv")

    @pytest.mark.parametrize("path", ["/admin/users", "/admin/audit", "/admin/audit.csv"])
    def test_cannot_open_owner_pages(self, viewer, path):
        assert viewer.get(path).status_code == 403


class TestEditor:
    def test_can_edit_a_campaign(self, app, editor):
        token = csrf_token(editor, "/admin/campaigns/spring")
        answer = editor.post(
            "/admin/campaigns/spring",
            data={
                "csrf_token": token,
                "name": "Spring 20% off",
                "keywords": "SPRING, BLOOM",
                "action": "coupon",
                "active": "on",
                "application_id": "12",
                "campaign_id": "34",
                "identifier": "{customer_id}:{campaign_id}",
                "reply": "Fresh spring code: {code}",
            },
        )
        assert answer.status_code == 302
        assert _reply(app)[0] == "Fresh spring code: {code}"
        listing = editor.get("/admin/campaigns").get_data(as_text=True)
        assert ">Edit<" in listing

    @pytest.mark.parametrize("path", ["/admin/users", "/admin/audit"])
    def test_cannot_open_user_management_or_the_audit_trail(self, editor, path):
        answer = editor.get(path)
        assert answer.status_code == 403
        assert "owner role" in answer.get_data(as_text=True)
        assert "/admin/users" not in editor.get("/admin/").get_data(as_text=True)


def test_every_console_view_declares_its_role(app):
    undeclared = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        and rule.endpoint not in PUBLIC_ENDPOINTS
        and not hasattr(app.view_functions[rule.endpoint], "required_role")
    ]
    assert undeclared == []


def test_the_simulator_needs_an_editor_when_twilio_is_live(app, client):
    viewer = _as(app, client, VIEWER, "viewer")
    assert viewer.get("/dev/phone").status_code == 403
    editor = _as(app, app.test_client(), EDITOR, "editor")
    assert editor.get("/dev/phone").status_code == 200
