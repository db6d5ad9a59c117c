"""Cross-cutting web protections shared by every page: CSRF, throttles, security headers.

CSRF (Flask-WTF) covers every form; Twilio's signed webhooks are exempt because Twilio cannot
send a token and the signature already proves the sender. Throttles (Flask-Limiter, on the
`limits` library) keep their counters in Redis when REDIS_URL is set, so every process and
host shares them; otherwise in this process's memory (the embedded mode runs one process).
Headers (CSP, nosniff, Referrer-Policy, HSTS), cookie flags and /robots.txt: handlers/security.py.
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect, generate_csrf

from handlers.security import init_security
from selfserve.ops import Settings

csrf = CSRFProtect()
SIGNED_TOKEN_KEY = "csrf_signed"  # noqa: S105 - a session key: the signed CSRF token


def session_csrf_token() -> str:
    """The CSRF token for forms: one per session, the same on every page.

    Flask-WTF signs its session secret afresh on every request, with the current second in the
    signature, so every page with a form changed from one second to the next. Nothing gains
    from that (tokens never expire on their own here: the session lifetime bounds them), and
    it made identical pages look different to an active scanner, which then reported
    injections that were only the clock. The token is signed once and kept in the session; a
    new session (log-in clears it) gets a new secret and a new token.
    """
    token = session.get(SIGNED_TOKEN_KEY)
    if isinstance(token, str) and "csrf_token" in session:
        return token
    token = generate_csrf()
    session[SIGNED_TOKEN_KEY] = token
    return token


def client_address() -> str:
    """The client's address as the proxy in front of us reports it (ProxyFix sets it)."""
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_address, default_limits=[], strategy="moving-window")


def init_web_protections(app: Flask, settings: Settings) -> None:
    """Bind CSRF protection, the limiter and the security headers to `app`."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session lifetime bounds it
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    csrf.init_app(app)
    # Registered after Flask-WTF's own context processor, so templates get this one.
    app.jinja_env.globals["csrf_token"] = session_csrf_token
    app.context_processor(lambda: {"csrf_token": session_csrf_token})
    limiter.init_app(app)
    init_security(app, settings)
