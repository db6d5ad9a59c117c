"""Posters in the console: the QR choices on a campaign's page and the downloads."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort, flash, redirect, request, url_for

from handlers.admin.access import audit, role_required
from handlers.admin.blueprint import bp, campaign_or_404
from handlers.services import services
from selfserve.campaigns import CampaignSpec
from selfserve.console import (
    FORMATS,
    MODES,
    PosterError,
    poster_campaign_from,
    poster_filename,
    qr_payload,
    render_poster,
)

POSTER_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


@dataclass(frozen=True)
class PosterChoice:
    """One mode of poster: its downloads, or why it cannot be made."""

    mode: str
    title: str
    payload: str
    problem: str


def poster_choices(campaign: CampaignSpec) -> list[PosterChoice]:
    """The campaign's poster modes, each with its QR payload or the reason it has none."""
    settings = services().settings
    poster = poster_campaign_from(
        campaign, settings.twilio_from_number, settings.whatsapp_link_number
    )
    titles = {"sms": "Text the keyword", "web": "Open the web page", "whatsapp": "Send on WhatsApp"}
    choices = []
    for mode in MODES:
        try:
            payload, problem = qr_payload(poster, mode, settings.public_base_url, None), ""
        except PosterError as error:
            payload, problem = "", str(error)
        choices.append(PosterChoice(mode, titles.get(mode, mode), payload, problem))
    return choices


@bp.get("/campaigns/<slug>/posters/<mode>.<fmt>")
@role_required("viewer")
def download_poster(slug: str, mode: str, fmt: str) -> Response:
    """A printable poster of the campaign (PNG 300 dpi, SVG or A4/Letter PDF)."""
    if mode not in MODES or fmt not in FORMATS:
        abort(404)
    campaign = campaign_or_404(slug)
    settings = services().settings
    poster = poster_campaign_from(
        campaign, settings.twilio_from_number, settings.whatsapp_link_number
    )
    src = request.args.get("src", "").strip() or None
    paper = request.args.get("paper", "a4")
    try:
        name = poster_filename(poster, mode, fmt, src)
        content = render_poster(
            poster, mode, fmt, settings.public_base_url, src=src, label=src, paper=paper
        )
    except PosterError as error:
        flash(f"Could not make that poster: {error}", "error")
        return redirect(url_for("admin.edit_campaign", slug=slug))
    audit("download", name)
    return Response(
        content,
        mimetype=POSTER_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
