"""The home page at `/`: where a newcomer finds the phone simulator and the console."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from handlers.pages import add_page_headers
from handlers.services import services

bp = Blueprint("home", __name__)
bp.after_request(add_page_headers)


@bp.get("/")
def home_page() -> str:
    """What selfserve is, what to text, and the way to the simulator and the console."""
    settings = services().settings
    return render_template(
        "home.html",
        keywords=services().campaigns.active_keywords(),
        simulator_open=settings.sms_sandbox or current_user.is_authenticated,
        sms_sandbox=settings.sms_sandbox,
        talon_sandbox=settings.talon_sandbox,
        webhook_url=settings.public_base_url.rstrip("/") + "/webhooks/twilio/sms",
    )
