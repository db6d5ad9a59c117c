"""Settings and campaign fields that become Talon.One headers and parameters (README promises):
TALON_DRY_RUN, usage_limit and recipient, checked at the Talon.One stand-in."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from app import create_app
from selfserve.models import IssuedCoupon
from selfserve.ops import Settings
from tests.conftest import import_campaigns_text, reply_text, send_text

CAMPAIGNS = """
[[campaign]]
slug = "anyone"
name = "Anyone may redeem"
keywords = ["ANYONE"]
action = "coupon"
application_id = 12
campaign_id = 35
recipient = false
usage_limit = 0
reply = "Code {code}"

[[campaign]]
slug = "mine"
name = "Only mine, three times"
keywords = ["MINE"]
action = "coupon"
application_id = 12
campaign_id = 36
recipient = true
usage_limit = 3
reply = "Code {code}"

[[campaign]]
slug = "plain"
name = "Talon's defaults"
keywords = ["PLAIN"]
action = "coupon"
application_id = 12
campaign_id = 37
reply = "Code {code}"
"""


@pytest.fixture
def fields_app(app):
    import_campaigns_text(app, CAMPAIGNS)
    return app


@pytest.fixture
def dry_run_app(settings):
    application = create_app(replace(settings, talon_dry_run=True))
    application.config["TESTING"] = True
    import_campaigns_text(application, CAMPAIGNS)
    yield application
    application.extensions["selfserve"].close()


def test_talon_dry_run_is_read_from_the_environment(tmp_path):
    instance = {"INSTANCE_PATH": str(tmp_path)}
    assert Settings.from_environment({**instance, "TALON_DRY_RUN": "true"}).talon_dry_run
    assert Settings.from_environment(instance).talon_dry_run is False


def test_talon_dry_run_sends_x_dry_run_and_talon_stores_nothing(dry_run_app, talon_stand_in):
    reply = reply_text(send_text(dry_run_app.test_client(), "PLAIN"))
    assert reply.startswith("Code T1-")
    (request,) = talon_stand_in.coupon_requests()
    assert request.headers["X-DRY-RUN"] == "true"
    assert talon_stand_in.coupons == {}


def test_talon_dry_run_codes_are_not_kept_here_either(dry_run_app, talon_stand_in):
    """A rehearsal's code is not a real one: texting again asks Talon.One again, and no
    issued code is remembered to be handed out later."""
    client = dry_run_app.test_client()
    reply_text(send_text(client, "PLAIN"))
    reply_text(send_text(client, "PLAIN"))
    assert len(talon_stand_in.coupon_requests()) == 2
    with dry_run_app.extensions["selfserve"].sessions() as db:
        assert db.scalar(select(func.count()).select_from(IssuedCoupon)) == 0


def test_without_talon_dry_run_talon_keeps_the_coupon(fields_app, talon_stand_in):
    reply = reply_text(send_text(fields_app.test_client(), "PLAIN"))
    (request,) = talon_stand_in.coupon_requests()
    assert request.headers["X-DRY-RUN"] == "false"
    [stored] = talon_stand_in.coupons.values()
    assert reply == f"Code {stored['Value']}"


@pytest.mark.parametrize(
    ("keyword", "usage_limit", "recipient"),
    [
        ("ANYONE", "0", False),  # 0 = unlimited: must be sent, not dropped as falsy
        ("MINE", "3", True),
        ("PLAIN", None, False),  # unset: Talon.One's default (1) applies
    ],
)
def test_usage_limit_and_recipient_become_talons_parameters(
    fields_app, talon_stand_in, keyword, usage_limit, recipient
):
    send_text(fields_app.test_client(), keyword, sender="+61491570177")
    (request,) = talon_stand_in.coupon_requests()
    assert request.args.get("usageLimit") == usage_limit
    assert ("recipientIntegrationId" in request.args) is recipient
    [stored] = talon_stand_in.coupons.values()
    assert stored["UsageLimit"] == int(usage_limit or 1)
    if recipient:
        assert stored["RecipientIntegrationID"] == request.args["recipientIntegrationId"]
        assert stored["RecipientIntegrationID"].startswith("ss-")  # a pseudonym, not the number
    else:
        assert stored["RecipientIntegrationID"] == ""
