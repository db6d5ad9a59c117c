"""How a handler reaches the services the factory built for this app."""

from __future__ import annotations

from flask import current_app

from selfserve.services import Services


def services() -> Services:
    """The Services of the running app."""
    return current_app.extensions["selfserve"]
