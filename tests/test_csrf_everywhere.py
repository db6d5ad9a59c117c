"""Every POST route of the app refuses a post without its CSRF token: 400, and nothing changes.

The routes are read from the app itself (`app.url_map`, and the Twilio webhooks' own app
mounted at /webhooks/twilio), and each must be classified in ROUTES or WEBHOOKS below: a new
POST route that nobody classified fails `test_every_post_route_is_classified`. Each case first
brings the client to where the post WOULD change something (logged in, a campaign paused, a code
pending), so a route that lost its CSRF check answers 2xx/3xx/422 instead of 400 and changes a
row, texts someone or asks Talon.One. The Twilio webhooks take no token (Twilio cannot send
one): an unsigned post is a 403 and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import inspect, select, text

from handlers.inbound_texts import PATH as INBOUND_TEXTS_PATH
from handlers.inbound_texts import InboundTexts
from selfserve.console import create_invite
from selfserve.models import ConsoleUser, utcnow
from tests.conftest import import_campaigns_text, inbound_form, reply_text, send_text
from tests.console_support import EMAIL, PASSWORD, create_console_user, csrf_token, log_in
from tests.phone_visitor import PhoneVisitor, one_time_code

TYPED = "0491 570 156"
PHONE = "+61491570156"
CAMPAIGN_FORM = {
    "name": "Spring, edited without a token",
    "keywords": "SPRING, BLOOM",
    "action": "coupon",
    "active": "on",
    "application_id": "12",
    "campaign_id": "34",
    "external_campaign_id": "sms-spring",
    "identifier": "{customer_id}:{campaign_id}",
    "reply": "Hijacked {code}",
}

REFERRAL_CAMPAIGNS = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING"]
application_id = 12
campaign_id = 34
reply = "Your Spring code: {code}"

[[campaign]]
slug = "refer"
name = "Refer a friend"
keywords = ["REFER"]
action = "referral"
campaign_id = 88
friend_campaign = "spring"
reply = "Your code {code}. Share it!"
"""


@dataclass(frozen=True)
class Post:
    """A token-less post, ready to send, and what else must still hold after it."""

    path: str
    data: dict[str, str]
    still_true: Callable[[Any], bool] | None = None  # given the client, after the post


@dataclass(frozen=True)
class Route:
    """How to reach the state where a post to this route would change something."""

    prepare: Callable[[Flask, Any, Any], Post]  # (app, client, twilio_stand_in) -> Post


def logged_in(app: Flask, client: Any) -> None:
    create_console_user(app)
    assert log_in(client).status_code == 302


def is_logged_in(client: Any) -> bool:
    return client.get("/admin/").status_code == 200


def ready_to_login(app, client, twilio):
    create_console_user(app)
    client.get("/admin/login")  # a session, as a browser has
    return Post(
        "/admin/login",
        {"email": EMAIL, "password": PASSWORD},
        still_true=lambda c: not is_logged_in(c),
    )


def ready_to_logout(app, client, twilio):
    logged_in(app, client)
    return Post("/admin/logout", {}, still_true=is_logged_in)


def ready_to_new_campaign(app, client, twilio):
    logged_in(app, client)
    return Post("/admin/campaigns/new", {**CAMPAIGN_FORM, "slug": "autumn", "keywords": "AUTUMN"})


def ready_to_edit_campaign(app, client, twilio):
    logged_in(app, client)
    return Post("/admin/campaigns/spring", CAMPAIGN_FORM)


def ready_to_pause_campaign(app, client, twilio):
    logged_in(app, client)
    return Post("/admin/campaigns/spring/pause", {})


def ready_to_resume_campaign(app, client, twilio):
    logged_in(app, client)
    token = csrf_token(client, "/admin/campaigns/spring")
    paused = client.post("/admin/campaigns/spring/pause", data={"csrf_token": token})
    assert paused.status_code == 302  # paused, so a resume would change it back
    return Post("/admin/campaigns/spring/resume", {})


def ready_to_test_campaign(app, client, twilio):
    logged_in(app, client)
    return Post("/admin/campaigns/spring/test", {})  # would ask Talon.One (X-DRY-RUN)


def ready_to_warm_campaign(app, client, twilio):
    logged_in(app, client)
    return Post("/admin/campaigns/spring/warm", {"budget_share": "0.5"})  # would queue a run


def ready_to_phone_simulator(app, client, twilio):
    logged_in(app, client)  # Twilio is live in these settings: the simulator is for users
    client.get("/dev/phone")
    return Post("/dev/phone", {"number": PHONE, "body": "SPRING"})


def second_user(app: Flask) -> int:
    """Another console user (a viewer) whose role or status a post would change; their id."""
    create_console_user(app, "second@acme.example", PASSWORD, "viewer")
    with app.extensions["selfserve"].sessions() as db:
        return db.scalar(select(ConsoleUser.id).where(ConsoleUser.email == "second@acme.example"))


def ready_to_invite_user(app, client, twilio):
    logged_in(app, client)
    return Post("/admin/users/invite", {"email": "new@acme.example", "role": "editor"})


def ready_to_change_role(app, client, twilio):
    logged_in(app, client)
    return Post(f"/admin/users/{second_user(app)}/role", {"role": "owner"})


def ready_to_change_active(app, client, twilio):
    logged_in(app, client)
    return Post(f"/admin/users/{second_user(app)}/active", {"active": "false"})


def ready_to_change_password(app, client, twilio):
    logged_in(app, client)
    fresh = "a-fresh-passphrase-2026"
    form = {"password": PASSWORD, "new_password": fresh, "confirm": fresh}
    return Post("/admin/password", form)


def ready_to_accept_invite(app, client, twilio):
    with app.extensions["selfserve"].writes.begin() as db:
        token = create_invite(db, "new@acme.example", "editor", EMAIL, utcnow())
    client.get(f"/admin/invite/{token}")  # a session, as a browser has
    return Post(f"/admin/invite/{token}", {"password": PASSWORD, "confirm": PASSWORD})


def landing_visitor(client: Any) -> PhoneVisitor:
    visitor = PhoneVisitor(client)
    assert visitor.scan().status_code == 200
    return visitor


def ready_to_send_code(app, client, twilio):
    landing_visitor(client)
    return Post("/q/spring", {"phone": TYPED, "src": "front-door"})


def with_code_pending(client: Any, twilio: Any) -> str:
    visitor = landing_visitor(client)
    assert visitor.enter_number(TYPED).status_code == 200
    return one_time_code(twilio.messages_to(PHONE)[-1].body)


def ready_to_check_code(app, client, twilio):
    code = with_code_pending(client, twilio)
    return Post("/q/spring/verify", {"code": code})


def ready_to_resend_code(app, client, twilio):
    with_code_pending(client, twilio)
    return Post("/q/spring/resend", {})


def referral_visitor(app: Flask, client: Any) -> tuple[PhoneVisitor, str]:
    """A friend on /r/<code>: an advocate (another number) texted REFER for the code."""
    import_campaigns_text(app, REFERRAL_CAMPAIGNS)
    reply = reply_text(send_text(client, "REFER", "+61491570199"))
    code = reply.split("code ")[1].split(".")[0]
    visitor = PhoneVisitor(client)
    assert visitor.get(f"/r/{code}").status_code == 200
    return visitor, code


def ready_to_send_referral_code(app, client, twilio):
    _, code = referral_visitor(app, client)
    return Post(f"/r/{code}", {"phone": TYPED})


def with_referral_code_pending(app: Flask, client: Any, twilio: Any) -> tuple[str, str]:
    visitor, code = referral_visitor(app, client)
    assert visitor.enter_number(TYPED).status_code == 200
    return code, one_time_code(twilio.messages_to(PHONE)[-1].body)


def ready_to_check_referral_code(app, client, twilio):
    code, one_time = with_referral_code_pending(app, client, twilio)
    return Post(f"/r/{code}/verify", {"code": one_time})


def ready_to_resend_referral_code(app, client, twilio):
    code, _ = with_referral_code_pending(app, client, twilio)
    return Post(f"/r/{code}/resend", {})


# Every POST route of the pages' app, by endpoint. Add a new route here (with a case that
# would change something) when you add it to the app.
ROUTES: dict[str, Route] = {
    "admin.login": Route(ready_to_login),
    "admin.logout": Route(ready_to_logout),
    "admin.new_campaign": Route(ready_to_new_campaign),
    "admin.edit_campaign": Route(ready_to_edit_campaign),
    "admin.pause_campaign": Route(ready_to_pause_campaign),
    "admin.resume_campaign": Route(ready_to_resume_campaign),
    "admin.test_campaign": Route(ready_to_test_campaign),
    "admin.warm_campaign": Route(ready_to_warm_campaign),
    "admin.invite_user": Route(ready_to_invite_user),
    "admin.change_role": Route(ready_to_change_role),
    "admin.change_active": Route(ready_to_change_active),
    "admin.change_password": Route(ready_to_change_password),
    "admin.accept_invite": Route(ready_to_accept_invite),
    "phone.send_from_phone": Route(ready_to_phone_simulator),
    "landing.send_code": Route(ready_to_send_code),
    "landing.check_code": Route(ready_to_check_code),
    "landing.resend_code": Route(ready_to_resend_code),
    "referral_landing.send_code": Route(ready_to_send_referral_code),
    "referral_landing.check_code": Route(ready_to_check_referral_code),
    "referral_landing.resend_code": Route(ready_to_resend_referral_code),
}

# The Twilio webhooks' app (mounted at /webhooks/twilio): signed by Twilio instead of a token.
WEBHOOKS: dict[str, dict[str, str]] = {
    "/webhooks/twilio:inbound_texts": inbound_form("SPRING"),
    "/webhooks/twilio:sms.delivery_status": {
        "MessageSid": "SM" + "1" * 32,
        "MessageStatus": "delivered",
        "AccountSid": "AC" + "0" * 32,
    },
}


def mounted_apps(app: Flask) -> dict[str, Any]:
    """The apps mounted beside the pages (Werkzeug's DispatcherMiddleware), by mount point."""
    wsgi: Any = app.wsgi_app
    while wsgi is not None and not hasattr(wsgi, "mounts"):
        wsgi = getattr(wsgi, "app", None)  # through ProxyFix and the like
    return dict(wsgi.mounts) if wsgi is not None else {}


def post_routes(app: Flask) -> dict[str, str]:
    """Every route that accepts POST: endpoint (prefixed by its mount point) -> rule."""
    found = {
        rule.endpoint: rule.rule for rule in app.url_map.iter_rules() if "POST" in rule.methods
    }
    for mount, mounted in mounted_apps(app).items():
        if isinstance(mounted, InboundTexts):  # plain WSGI in front of the webhooks' Flask app
            found[f"{mount}:inbound_texts"] = mount + INBOUND_TEXTS_PATH
            mounted = mounted.others
        for rule in mounted.url_map.iter_rules():
            if "POST" in (rule.methods or ()):
                found[f"{mount}:{rule.endpoint}"] = mount + rule.rule
    return found


def everything_stored(app: Flask) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    services = app.extensions["selfserve"]
    services.returning.flush()
    engine = services.engine
    stored: dict[str, list[tuple]] = {}
    with engine.connect() as connection:
        for table in sorted(inspect(engine).get_table_names()):
            rows = connection.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608 - names from the schema
            stored[table] = sorted((tuple(map(repr, row)) for row in rows), key=repr)
    return stored


def test_every_post_route_is_classified(app):
    found = post_routes(app)
    assert any(endpoint.startswith("/webhooks/twilio:") for endpoint in found), found
    unclassified = set(found) - set(ROUTES) - set(WEBHOOKS)
    assert not unclassified, f"POST routes not in ROUTES or WEBHOOKS: {sorted(unclassified)}"
    gone = (set(ROUTES) | set(WEBHOOKS)) - set(found)
    assert not gone, f"classified routes the app no longer has: {sorted(gone)}"


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(
    app, client, talon_stand_in, twilio_stand_in, endpoint
):
    post = ROUTES[endpoint].prepare(app, client, twilio_stand_in)
    assert post.path.split("/")[1] == post_routes(app)[endpoint].split("/")[1]
    before = everything_stored(app)
    texts_before = len(twilio_stand_in.requests)
    talon_before = len(talon_stand_in.requests)
    response = client.post(post.path, data=post.data)
    assert response.status_code == 400, f"{endpoint} answered {response.status_code}"
    assert everything_stored(app) == before
    assert len(twilio_stand_in.requests) == texts_before  # nobody was texted
    assert len(talon_stand_in.requests) == talon_before  # Talon.One was not asked
    if post.still_true is not None:
        assert post.still_true(client)


@pytest.mark.parametrize("endpoint", sorted(WEBHOOKS))
def test_an_unsigned_webhook_post_is_refused_and_changes_nothing(
    app, client, talon_stand_in, endpoint
):
    path = post_routes(app)[endpoint]
    before = everything_stored(app)
    response = client.post(path, data=WEBHOOKS[endpoint])
    assert response.status_code == 403
    assert everything_stored(app) == before
    assert talon_stand_in.requests == []
