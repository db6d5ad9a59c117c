"""Cross-cutting web protections shared by every page: CSRF, throttles, security headers.

CSRF (Flask-WTF) covers every form; Twilio's signed webhooks are exempt because Twilio cannot
send a token and the signature already proves the sender. Throttles (Flask-Limiter, on the
`limits` library) keep their counters in Redis when REDIS_URL is set, so every process and
host shares them; otherwise in this process's memory (the embedded mode runs one process).
Headers (CSP, nosniff, Referrer-Policy, HSTS), cookie flags and /robots.txt: handlers/security.py.
"""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect

from handlers.security import init_security
from selfserve.settings import Settings

csrf = CSRFProtect()


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
    limiter.init_app(app)
    init_security(app, settings)
