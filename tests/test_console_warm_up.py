"""The console's warm-up: "warm: N of M" on a coupon campaign's page, started in the worker."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.conftest import SPRING_CAMPAIGNS, _build_app, import_campaigns_text, wait_for
from tests.console_support import create_console_user, csrf_token, log_in
from tests.test_warm_up import import_directory


@pytest.fixture
def console(app, client):
    """A client logged in to the console."""
    create_console_user(app)
    assert log_in(client).status_code == 302
    return client


def start_warm_up(console, slug: str, share: str = "0.5"):
    page = f"/admin/campaigns/{slug}"
    return console.post(
        f"{page}/warm", data={"budget_share": share, "csrf_token": csrf_token(console, page)}
    )


def test_the_campaign_page_counts_warm_codes_and_starts_a_warm_up_in_the_worker(
    app, console, runner, worker, talon_stand_in, tmp_path
):
    import_directory(runner, tmp_path, 8)
    page = console.get("/admin/campaigns/spring").get_data(as_text=True)
    assert "warm: 0 of 8" in page

    answer = start_warm_up(console, "spring")
    assert answer.status_code == 303
    warm_ups = app.extensions["selfserve"].warm_ups
    wait_for(lambda: warm_ups.status("spring").state == "done", what="the warm-up to finish")
    assert len(talon_stand_in.coupon_requests()) == 8
    page = console.get("/admin/campaigns/spring").get_data(as_text=True)
    assert "warm: 8 of 8" in page
    assert "(done)" in page


@pytest.mark.parametrize("share", ["0", "lots", "2"])
def test_a_bad_share_is_refused_and_nothing_is_queued(app, console, talon_stand_in, share):
    answer = start_warm_up(console, "spring", share)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "budget share must be more than 0 and at most 1" in page
    assert app.extensions["selfserve"].warm_ups.status("spring").state == ""


def test_loyalty_campaigns_have_no_warm_up(console):
    assert "Start warm-up" not in console.get("/admin/campaigns/points").get_data(as_text=True)
    assert "Start warm-up" in console.get("/admin/campaigns/spring").get_data(as_text=True)


def test_a_dry_run_install_refuses_to_warm_from_the_console(settings, talon_stand_in):
    application = _build_app(replace(settings, talon_dry_run=True))
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    try:
        create_console_user(application)
        client = application.test_client()
        assert log_in(client).status_code == 302
        answer = start_warm_up(client, "spring")
    finally:
        application.extensions["selfserve"].close()
    assert answer.status_code == 422
    assert "runs dry" in answer.get_data(as_text=True)
    assert talon_stand_in.coupon_requests() == []
