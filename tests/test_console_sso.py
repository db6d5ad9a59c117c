"""Single sign-on against a stand-in OpenID Connect provider on a real socket: discovery,
authorization code with PKCE, RS256 ID tokens checked against its JWKS; roles from a claim."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from app import create_app
from selfserve.models import AuditEvent, ConsoleSsoIdentity, ConsoleUser
from tests.conftest import SPRING_CAMPAIGNS, import_campaigns_text
from tests.console_support import EMAIL, PASSWORD, create_console_user, csrf_token
from tests.stand_ins import oidc
from tests.stand_ins.oidc import OidcStandIn
from tests.stand_ins.server import ServedApp


@pytest.fixture
def provider() -> Iterator[OidcStandIn]:
    stand_in = OidcStandIn()
    served = ServedApp(stand_in)
    stand_in.url = served.url
    yield stand_in
    served.stop()


def sso_app(settings: Any, provider: OidcStandIn, **changes: Any) -> Any:
    application = create_app(
        replace(
            settings,
            oidc_issuer=provider.url,
            oidc_client_id=oidc.CLIENT_ID,
            oidc_client_secret=oidc.CLIENT_SECRET,
            **changes,
        )
    )
    application.config["TESTING"] = True
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    return application


@pytest.fixture
def make_app(settings, provider) -> Iterator[Any]:
    built = []

    def make(**changes: Any) -> Any:
        built.append(sso_app(settings, provider, **changes))
        return built[-1]

    yield make
    for application in built:
        application.extensions["selfserve"].close()


def sign_in_at_provider(client: Any) -> Any:
    """Start SSO, let the provider answer (it signs `next_user` in), return to the callback."""
    start = client.get("/admin/sso/login")
    assert start.status_code == 302, start.get_data(as_text=True)
    back = httpx.get(start.headers["Location"], follow_redirects=False)
    assert back.status_code == 302, back.text
    callback = urlsplit(back.headers["Location"])
    assert callback.path == "/admin/sso/callback"
    return client.get(f"{callback.path}?{callback.query}")


def roles(application: Any) -> dict[str, str]:
    """Every console user's role, by email."""
    with application.extensions["selfserve"].sessions() as db:
        return {user.email: user.role for user in db.scalars(select(ConsoleUser))}


def audited(application: Any) -> list[tuple[str, str, str, str]]:
    """The audit trail's rows: (actor, action, target, outcome)."""
    with application.extensions["selfserve"].sessions() as db:
        rows = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    return [(row.actor, row.action, row.target, row.outcome) for row in rows]


def test_a_first_sso_log_in_creates_a_viewer_through_pkce_and_a_checked_id_token(
    make_app, provider
):
    application = make_app()
    client = application.test_client()
    answer = sign_in_at_provider(client)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/admin/"
    assert "ada@acme.example" in client.get("/admin/").get_data(as_text=True)
    assert roles(application) == {"ada@acme.example": "viewer"}
    login = ("ada@acme.example", "login", "ada@acme.example", "ok")
    assert login in audited(application)  # in /admin/audit, with the method
    [asked] = provider.authorize_requests
    assert asked["code_challenge_method"] == "S256"
    assert asked["nonce"]
    [traded] = provider.token_requests
    assert traded["code_verifier"]
    with application.extensions["selfserve"].sessions() as db:
        user = db.scalars(select(ConsoleUser)).one()
        identity = db.scalars(select(ConsoleSsoIdentity)).one()
    assert (identity.issuer, identity.subject, identity.user_id) == (
        provider.url,
        "user-1",
        user.id,
    )


def test_the_role_claim_maps_a_group_to_a_role(make_app, provider):
    application = make_app(oidc_role_claim="groups:sso-admins=owner,marketing=editor")
    provider.next_user = {"sub": "u2", "email": "bo@acme.example", "groups": ["staff", "marketing"]}
    client = application.test_client()
    assert sign_in_at_provider(client).status_code == 302
    assert roles(application) == {"bo@acme.example": "editor"}
    assert client.get("/admin/").status_code == 200


def test_the_claim_changes_an_existing_users_role_but_never_demotes_the_last_owner(
    make_app, provider
):
    application = make_app(oidc_role_claim="groups:sso-admins=owner,marketing=editor")
    create_console_user(application)  # the first user: the only owner
    provider.next_user = {
        "sub": "u4",
        "email": EMAIL,
        "email_verified": True,
        "groups": ["marketing"],
    }
    client = application.test_client()
    assert sign_in_at_provider(client).status_code == 302
    assert roles(application)[EMAIL] == "owner"
    refused = [row for row in audited(application) if row[1] == "user_role"]
    assert [(actor, outcome[:8]) for actor, _, _, outcome in refused] == [("sso", "refused:")]
    create_console_user(application, "second@acme.example", role="owner")
    assert sign_in_at_provider(application.test_client()).status_code == 302
    assert roles(application)[EMAIL] == "editor"
    assert ("sso", "user_role", EMAIL, "ok") in audited(application)


@pytest.mark.parametrize(
    "tampering", [{"sign_with_wrong_key": True}, {"audience": "another-client"}]
)
def test_an_id_token_that_does_not_check_out_logs_nobody_in(make_app, provider, tampering):
    application = make_app()
    for name, value in tampering.items():
        setattr(provider, name, value)
    client = application.test_client()
    answer = sign_in_at_provider(client)
    assert answer.status_code == 400
    assert client.get("/admin/").status_code == 302
    with application.extensions["selfserve"].sessions() as db:
        assert db.scalars(select(ConsoleUser)).all() == []


def test_the_callback_cannot_be_replayed(make_app, provider):
    application = make_app()
    client = application.test_client()
    start = client.get("/admin/sso/login")
    back = urlsplit(httpx.get(start.headers["Location"]).headers["Location"])
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    other = application.test_client()
    assert other.get(f"{back.path}?{back.query}").status_code == 400
    assert other.get("/admin/").status_code == 302


def test_an_existing_account_is_linked_only_through_a_verified_email(make_app, provider):
    application = make_app()
    create_console_user(application)
    provider.next_user = {"sub": "u3", "email": EMAIL, "email_verified": False}
    client = application.test_client()
    assert sign_in_at_provider(client).status_code == 403
    assert client.get("/admin/").status_code == 302
    provider.next_user = {"sub": "u3", "email": EMAIL, "email_verified": True}
    assert sign_in_at_provider(client).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_sso_users_are_not_sent_to_enrolment_under_mfa_required(make_app, provider):
    application = make_app(mfa_required="true")
    client = application.test_client()
    sign_in_at_provider(client)
    assert client.get("/admin/").status_code == 200


def test_oidc_only_turns_the_password_form_off(make_app, provider):
    application = make_app(oidc_only=True)
    create_console_user(application)
    client = application.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    assert 'name="password"' not in page
    assert 'id="sso-login"' in page
    token = csrf_token(client, "/q/spring")  # the log-in page has no form to read one from
    refused = client.post(
        "/admin/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 403
    assert client.get("/admin/").status_code == 302
    assert sign_in_at_provider(client).status_code == 302


def test_the_stand_in_refuses_a_token_request_without_the_right_pkce_verifier(provider):
    query = {
        "client_id": oidc.CLIENT_ID,
        "response_type": "code",
        "scope": "openid email",
        "redirect_uri": "https://sms.acme.example/admin/sso/callback",
        "state": "s",
        "nonce": "n",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    back = httpx.get(provider.url + "/authorize", params=query)
    code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    answer = httpx.post(
        provider.url + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": query["redirect_uri"],
            "code_verifier": "not-the-verifier",
        },
        auth=(oidc.CLIENT_ID, oidc.CLIENT_SECRET),
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_an_unreachable_provider_gets_a_polite_page(settings):
    from tests.stand_ins.server import free_port

    application = create_app(
        replace(
            settings,
            oidc_issuer=f"http://127.0.0.1:{free_port()}",
            oidc_client_id=oidc.CLIENT_ID,
            oidc_client_secret=oidc.CLIENT_SECRET,
        )
    )
    try:
        answer = application.test_client().get("/admin/sso/login")
        assert answer.status_code == 502
        assert "cannot be reached" in answer.get_data(as_text=True)
    finally:
        application.extensions["selfserve"].close()


def test_without_oidc_settings_there_is_no_sso(client):
    assert 'id="sso-login"' not in client.get("/admin/login").get_data(as_text=True)
    assert client.get("/admin/sso/login").status_code == 404
    assert client.get("/admin/sso/callback?code=x&state=y").status_code == 404
