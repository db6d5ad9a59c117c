"""The application factory: settings → services → blueprints, error handlers and commands.

`flask --app app run` and `gunicorn "app:create_app()"` both start here. What the services
are, and how they are wired, is decided in selfserve/wiring (the composition root).
"""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from handlers import sms
from handlers.errors import register_error_handlers
from handlers.inbound_texts import InboundTexts
from handlers.sandbox import create_talon_sandbox
from handlers.sessions import CachedSerializerSessions
from selfserve.commands import build_cli
from selfserve.ops import Settings, configure_logging
from selfserve.services import Services
from selfserve.wiring import build_services

log = logging.getLogger(__name__)


def create_webhook_app(services: Services) -> Flask:
    """Twilio's delivery-status webhook as a small Flask app of its own.

    The pages' app runs a session, CSRF and per-IP throttle hooks on every request; none of
    them applies to a signed machine-to-machine call, and together they cost a returning
    customer's text about a quarter of its time. This app has no secret key (so no session),
    no CSRF (Twilio cannot send a token; its signature proves the sender) and no throttle
    (every text comes from a few of Twilio's addresses). `create_app` mounts it at
    /webhooks/twilio with Werkzeug's DispatcherMiddleware: same process, same services.
    Inbound texts, the hottest call of all, do not even reach Flask: `InboundTexts` answers
    them in front of this app (handlers/inbound_texts.py says why).
    """
    hooks = Flask(__name__)
    hooks.config.update(MAX_CONTENT_LENGTH=256 * 1024)
    hooks.extensions["selfserve"] = services
    hooks.register_blueprint(sms.bp)
    register_error_handlers(hooks)
    return hooks


def register_pages(app: Flask, settings: Settings) -> None:
    """Protections first (CSRF, throttles, headers), then every page blueprint and the error
    handlers; the blueprints are imported here, so importing app.py starts nothing."""
    from handlers import code_pages, home, landing, ops, phone, screen
    from handlers.admin import init_console
    from handlers.landing.pages import render_unavailable
    from handlers.page_words import init_page_words
    from handlers.web import init_web_protections

    init_web_protections(app, settings)
    init_page_words(app)
    app.register_blueprint(ops.bp)
    init_console(app)
    for blueprint in (
        phone.bp,
        home.bp,
        landing.bp,
        landing.referral_bp,
        code_pages.bp,
        screen.bp,
    ):
        app.register_blueprint(blueprint)
    register_error_handlers(app, visitor_page=render_unavailable)


def create_app(settings: Settings | None = None) -> Flask:
    """Create the selfserve app; tests pass their own Settings."""
    if settings is None:
        settings = Settings.from_environment()
    configure_logging(as_json=settings.log_json)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    app.session_interface = CachedSerializerSessions()
    services = build_services(settings, create_talon_sandbox)
    app.extensions["selfserve"] = services
    register_pages(app, settings)
    # Twilio's webhooks are served by an app of their own (see create_webhook_app).
    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {sms.MOUNT_POINT: InboundTexts(services, create_webhook_app(services))}
    )
    if settings.trusted_proxy_hops:
        # Behind N proxies (a TLS terminator, a load balancer): trust their X-Forwarded-For and
        # -Proto so per-IP throttles see the customer and the scheme is https. Twilio
        # signatures do not depend on this: they are checked against PUBLIC_BASE_URL.
        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    # Every web process drains its host's spool once the database is back (texts/spooled.py).
    services.drainer.start()
    for command in build_cli(lambda: services):
        app.cli.add_command(command)
    log.debug(
        "app_created",
        extra={
            "talon": "sandbox" if settings.talon_sandbox else "live",
            "sms": "sandbox" if settings.sms_sandbox else "twilio",
        },
    )
    return app
