"""Single sign-on with OpenID Connect (Authlib), when OIDC_ISSUER is set.

`/admin/sso/login` sends the browser to the identity provider found by discovery
(`OIDC_ISSUER/.well-known/openid-configuration`) with an authorization-code request carrying
state, a nonce and a PKCE S256 challenge; `/admin/sso/callback` trades the code (with its
verifier and the client secret) for tokens and has Authlib check the ID token: its signature
against the provider's JWKS, issuer, audience, expiry and nonce. selfserve.console.sso turns
the verified claims into an account. SSO users' second factor is the provider's business, so
MFA_REQUIRED does not send them to enrolment. With OIDC_ONLY=true the password form (and
passkey log-in) is off: the console is entered through the provider only.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, Response, current_app, redirect, render_template, request, session
from joserfc.errors import JoseError

from handlers.admin.blueprint import begin_session, bp
from handlers.admin.factors import SSO_KEY
from handlers.services import services
from handlers.web import client_address
from selfserve.console import find_user
from selfserve.errors import SingleSignOnError

log = logging.getLogger(__name__)

PROVIDER = "idp"
SCOPES = "openid email profile"
HTTP_TIMEOUT_SECONDS = 10  # discovery, JWKS and the token request
CALLBACK_PATH = "/admin/sso/callback"  # register PUBLIC_BASE_URL + this at the provider


def init_sso(app: Flask) -> None:
    """Register the identity provider's client on `app` when OIDC_ISSUER is set."""
    settings = app.extensions["selfserve"].settings
    if not settings.oidc_issuer:
        return
    oauth = OAuth(app)
    oauth.register(
        PROVIDER,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPES,
            "code_challenge_method": "S256",
            "default_timeout": HTTP_TIMEOUT_SECONDS,
        },
    )


def _provider() -> Any:
    return current_app.extensions["authlib.integrations.flask_client"].create_client(PROVIDER)


def _sso_problem(message: str, status: int = 400) -> tuple[str, int]:
    page = render_template("admin/sso_problem.html", message=message)
    return page, status


@bp.get("/sso/login")
def sso_login() -> Response | tuple[str, int]:
    """Off to the identity provider (with state, nonce and a PKCE challenge)."""
    if services().sso is None:
        return _sso_problem("Single sign-on is not set up on this console.", 404)
    callback = services().settings.public_base_url.rstrip("/") + CALLBACK_PATH
    try:
        return _provider().authorize_redirect(callback)
    except (OAuthError, requests.RequestException, ValueError) as error:
        log.warning("sso_provider_unreachable", extra={"error": type(error).__name__})
        return _sso_problem("The identity provider cannot be reached. Try again later.", 502)


@bp.get("/sso/callback")
def sso_callback() -> Response | tuple[str, int]:
    """Back from the identity provider: check its answer, then log the user in."""
    sso = services().sso
    if sso is None:
        return _sso_problem("Single sign-on is not set up on this console.", 404)
    try:
        token = _provider().authorize_access_token()
    except (OAuthError, JoseError, requests.RequestException, ValueError, KeyError) as error:
        log.warning("sso_refused", extra={"error": type(error).__name__})
        services().record_event(
            "(sso)", "login", "(sso)", f"refused: {type(error).__name__}", client_address()
        )
        return _sso_problem("The identity provider's answer could not be checked.")
    claims = token.get("userinfo")
    if not claims:
        return _sso_problem("The identity provider sent no ID token.")
    try:
        with services().writes.begin() as db:
            signed_in = sso.log_in(db, dict(claims), client_address())
    except SingleSignOnError as problem:
        return _sso_problem(str(problem), 403)
    sso.settle_role(signed_in)  # the claim's role, unless it would leave no owner
    with services().sessions() as db:
        account = find_user(db, signed_in.account.id)  # its role and session generation now
    if account is None:
        return _sso_problem("The account is gone.", 403)
    begin_session(account)
    session[SSO_KEY] = True
    log.info("login_succeeded", extra={"user_id": account.id, "method": "sso"})
    return redirect("/admin/")


@bp.before_request
def password_log_in_off_under_oidc_only() -> tuple[str, int] | None:
    """OIDC_ONLY=true: a password sent to the log-in form is refused before it is checked."""
    posting_a_password = request.endpoint == "admin.login" and request.method == "POST"
    if posting_a_password and services().settings.oidc_only:
        error = "This console logs in through single sign-on only."
        page = render_template("admin/login.html", email="", error=error, next_url="")
        return page, 403
    return None


@bp.context_processor
def sso_context() -> dict[str, bool]:
    """What the log-in page offers: SSO when set up; the password form unless OIDC_ONLY."""
    settings = services().settings
    return {"sso_open": bool(settings.oidc_issuer), "oidc_only": settings.oidc_only}
