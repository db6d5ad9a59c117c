"""Campaign pages: the list, create, edit, pause, resume and the dry-run test."""

from __future__ import annotations

import logging

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from handlers.admin.access import audit, role_required
from handlers.admin.blueprint import bp, campaign_or_404
from handlers.admin.campaign_form import fields_for, form_values, render_form, without_prefix
from handlers.services import services
from selfserve.campaigns import definition_from_form, save_draft, set_active, stored_definition
from selfserve.console import field_changes, rehearse
from selfserve.errors import WarmUpRefused

log = logging.getLogger(__name__)


@bp.get("/campaigns")
@role_required("viewer")
def campaigns_page() -> str:
    """The campaigns, with links to edit, test, pause and print posters."""
    return render_template("admin/campaigns.html", campaigns=services().campaigns.all())


@bp.route("/campaigns/new", methods=["GET", "POST"])
@role_required("editor")
def new_campaign() -> Response | tuple[str, int]:
    """Create a campaign through the form, validated as `campaigns import` validates."""
    if request.method == "GET":
        defaults = {"action": "coupon", "active": True, "identifier": "{customer_id}:{campaign_id}"}
        return render_form(slug=None, values=defaults)
    action = request.form.get("action", "coupon")
    raw = definition_from_form(request.form, fields_for(action, with_slug=True))
    with services().writes.begin() as db:
        result = save_draft(db, raw, is_new=True)
    if not result.is_saved:
        audit("campaign_create", str(raw.get("slug", "")), outcome="invalid")
        return render_form(
            slug=None, values=dict(request.form), problems=result.problems, status=422
        )
    services().campaigns.invalidate()
    assert result.spec is not None  # noqa: S101 - is_saved says so
    with services().sessions() as db:
        created = stored_definition(db, result.spec.slug) or {}
    audit("campaign_create", result.spec.slug, changes=field_changes({}, created))
    log.info("campaign_created", extra={"campaign": result.spec.slug, "user_id": current_user.id})
    flash(f"Created {result.spec.name}.", "success")
    for warning in result.warnings:
        flash(without_prefix(warning), "warning")
    return redirect(url_for("admin.edit_campaign", slug=result.spec.slug))


@bp.route("/campaigns/<slug>", methods=["GET", "POST"])
@role_required("viewer", to_change="editor")  # viewers see it read-only, with its posters
def edit_campaign(slug: str) -> Response | tuple[str, int]:
    """Show or change one campaign; its slug stays (printed posters point at it)."""
    with services().sessions() as db:
        definition = stored_definition(db, slug)
    if definition is None:
        abort(404)
    if request.method == "GET":
        return render_form(slug=slug, values=form_values(definition))
    action = request.form.get("action", "coupon")
    raw = definition_from_form(request.form, fields_for(action, with_slug=False), base=definition)
    raw["slug"] = slug
    with services().writes.begin() as db:
        result = save_draft(db, raw, is_new=False)
    if not result.is_saved:
        audit("campaign_edit", slug, outcome="invalid")
        values = {**dict(request.form), "slug": slug}
        return render_form(slug=slug, values=values, problems=result.problems, status=422)
    services().campaigns.invalidate()
    with services().sessions() as db:
        saved = stored_definition(db, slug) or {}
    audit("campaign_edit", slug, outcome=result.outcome, changes=field_changes(definition, saved))
    log.info("campaign_saved", extra={"campaign": slug, "outcome": result.outcome})
    flash("Saved." if result.outcome != "unchanged" else "No changes to save.", "success")
    for warning in result.warnings:
        flash(without_prefix(warning), "warning")
    return redirect(url_for("admin.edit_campaign", slug=slug))


@bp.post("/campaigns/<slug>/pause")
@role_required("editor")
def pause_campaign(slug: str) -> Response:
    """Stop a campaign: its keywords then get "this offer has ended"."""
    return _set_active(slug, active=False)


@bp.post("/campaigns/<slug>/resume")
@role_required("editor")
def resume_campaign(slug: str) -> Response:
    """Let customers take part in a paused campaign again."""
    return _set_active(slug, active=True)


def _set_active(slug: str, active: bool) -> Response:
    with services().writes.begin() as db:
        result = set_active(db, slug, active)
    if result is None:
        abort(404)
    services().campaigns.invalidate()
    outcome = "ok" if result.is_saved else "invalid"
    audit("campaign_resume" if active else "campaign_pause", slug, outcome=outcome)
    if result.is_saved:
        flash(f"{'Resumed' if active else 'Paused'} {result.spec.name}.", "success")  # type: ignore[union-attr]
    else:
        for messages in result.problems.values():
            for message in messages:
                flash(f"Could not change {slug}: {message}", "error")
    target = request.form.get("back", "")
    if target == "list":
        return redirect(url_for("admin.campaigns_page"))
    return redirect(url_for("admin.edit_campaign", slug=slug))


@bp.post("/campaigns/<slug>/test")
@role_required("editor")
def test_campaign(slug: str) -> tuple[str, int]:
    """Run the campaign against Talon.One with X-DRY-RUN: true and show what happened."""
    campaign = campaign_or_404(slug)
    outcome = rehearse(services().coupons, services().talon, campaign)
    log.info("campaign_rehearsed", extra={"campaign": slug, "ok": outcome.is_ok})
    audit("campaign_test", slug, outcome="ok" if outcome.is_ok else "failed")
    with services().sessions() as db:
        definition = stored_definition(db, slug) or {}
    return render_form(slug=slug, values=form_values(definition), rehearsal=outcome)


@bp.post("/campaigns/<slug>/warm")
@role_required("editor")
def warm_campaign(slug: str) -> Response | tuple[str, int]:
    """Start a warm-up of the campaign's directory customers; the worker runs it."""
    campaign = campaign_or_404(slug)
    try:
        share = float(request.form.get("budget_share", "0.5"))
    except ValueError:
        share = -1.0  # refused below with the rule it breaks
    try:
        started = services().warm_ups.mark_queued(campaign, share)
    except WarmUpRefused as error:  # a bad share, or a dry-run install: say so on the page
        audit("campaign_warm", slug, outcome="invalid")
        flash(f"Cannot warm {campaign.name}: {error}.", "error")
        with services().sessions() as db:
            definition = stored_definition(db, slug) or {}
        return render_form(slug=slug, values=form_values(definition), status=422)
    audit("campaign_warm", slug, outcome="ok" if started else "already running")
    if started:
        services().jobs.enqueue_warm_up(slug, share)
        log.info("warm_up_queued", extra={"campaign": slug, "user_id": current_user.id})
        flash(f"Warm-up of {campaign.name} started: the worker fetches the codes.", "success")
    else:
        flash(f"A warm-up of {campaign.name} is already running.", "warning")
    return redirect(url_for("admin.edit_campaign", slug=slug), code=303)
