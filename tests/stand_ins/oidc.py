"""A stand-in OpenID Connect identity provider: discovery, authorization code with PKCE, RS256.

Follows OpenID Connect Core 1.0 (authorization code flow, ID token claims, `nonce`),
OpenID Connect Discovery 1.0 (`/.well-known/openid-configuration`, its `issuer` equal to the
issuer URL), RFC 7636 (PKCE: the token request's `code_verifier` must hash to the
authorization request's S256 `code_challenge`), RFC 6749 (client authentication by HTTP Basic
or form fields, `invalid_grant` for a bad or reused code) and RFC 7517 (the JWKS).

There is no log-in page: `/authorize` signs in `next_user` (a dict of claims) at once and
redirects back with a one-time code. Tests read `authorize_requests` and `token_requests`,
and may set `sign_with_wrong_key` or `audience` to send a token the app must refuse.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Request, Response

CLIENT_ID = "selfserve-console"
CLIENT_SECRET = "oidc-test-secret"  # noqa: S105 - the stand-in's test client secret
KEY_ID = "stand-in-key-1"


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Grant:
    """An authorization code waiting to be traded once for tokens."""

    claims: dict[str, Any]
    redirect_uri: str
    code_challenge: str
    nonce: str


@dataclass
class OidcStandIn:
    """The identity provider; `url` is set once it is served (it is also the issuer)."""

    url: str = ""
    next_user: dict[str, Any] = field(
        default_factory=lambda: {"sub": "user-1", "email": "ada@acme.example"}
    )
    sign_with_wrong_key: bool = False
    audience: str = CLIENT_ID
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _key: rsa.RSAPrivateKey = field(default_factory=_new_key)
    _grants: dict[str, Grant] = field(default_factory=dict)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        routes = {
            "/.well-known/openid-configuration": self._discovery,
            "/authorize": self._authorize,
            "/token": self._token,
            "/jwks": self._jwks,
        }
        handler = routes.get(request.path)
        response = handler(request) if handler else _json({"error": "not_found"}, 404)
        return response(environ, start_response)

    def _discovery(self, request: Request) -> Response:
        return _json(
            {
                "issuer": self.url,
                "authorization_endpoint": self.url + "/authorize",
                "token_endpoint": self.url + "/token",
                "jwks_uri": self.url + "/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "scopes_supported": ["openid", "email", "profile"],
            }
        )

    def _authorize(self, request: Request) -> Response:
        query = request.args.to_dict()
        self.authorize_requests.append(query)
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return _json({"error": "unauthorized_client"}, 400)
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return _json({"error": "invalid_request", "error_description": "PKCE S256"}, 400)
        if "openid" not in query.get("scope", "").split():
            return _json({"error": "invalid_scope"}, 400)
        code = secrets.token_urlsafe(24)
        self._grants[code] = Grant(
            dict(self.next_user),
            query.get("redirect_uri", ""),
            query["code_challenge"],
            query.get("nonce", ""),
        )
        back = {"code": code, "state": query.get("state", "")}
        return Response(
            status=302, headers={"Location": f"{query['redirect_uri']}?{urlencode(back)}"}
        )

    def _token(self, request: Request) -> Response:
        form = request.form.to_dict()
        self.token_requests.append(form)
        if not self._client_authenticated(request, form):
            return _json({"error": "invalid_client"}, 401)
        grant = self._grants.pop(form.get("code", ""), None)  # a code is good once
        if grant is None or form.get("grant_type") != "authorization_code":
            return _json({"error": "invalid_grant"}, 400)
        if form.get("redirect_uri") != grant.redirect_uri:
            return _json({"error": "invalid_grant", "error_description": "redirect_uri"}, 400)
        if _s256(form.get("code_verifier", "")) != grant.code_challenge:
            return _json({"error": "invalid_grant", "error_description": "PKCE verifier"}, 400)
        access_token = secrets.token_urlsafe(24)
        return _json(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self._id_token(grant),
            }
        )

    def _jwks(self, request: Request) -> Response:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return _json({"keys": [{**public, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]})

    def _client_authenticated(self, request: Request, form: dict[str, str]) -> bool:
        basic = request.authorization
        if basic is not None and basic.type == "basic":
            return (basic.username, basic.password) == (CLIENT_ID, CLIENT_SECRET)
        return (form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET)

    def _id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": self.audience,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            **grant.claims,
        }
        key = _new_key() if self.sign_with_wrong_key else self._key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KEY_ID})


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
