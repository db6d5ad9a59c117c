"""The console's entry point: `init_console` binds log-in handling and registers `admin`."""

from __future__ import annotations

from flask import Flask

from handlers.admin import account, audit_trail, auth, campaigns, posters, reports, users
from handlers.admin.blueprint import bp, login_manager
from selfserve.console import ABSOLUTE_LIFETIME

# The modules whose views hang on `bp`: importing them is what adds their routes, so the
# blueprint is complete before `init_console` registers it.
PAGES = (account, audit_trail, auth, campaigns, posters, reports, users)

SESSION_LIFETIME = ABSOLUTE_LIFETIME  # the cookie's too; the server checks it as well


def init_console(app: Flask) -> None:
    """Bind log-in handling to `app` and register the console blueprint."""
    login_manager.init_app(app)
    login_manager.login_view = "admin.login"
    login_manager.login_message = "Please log in to use the console."
    login_manager.login_message_category = "info"
    app.config["PERMANENT_SESSION_LIFETIME"] = SESSION_LIFETIME  # Flask defaults to 31 days
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config.get("SESSION_COOKIE_SECURE", False))
    app.register_blueprint(bp)
