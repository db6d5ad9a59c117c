"""The audit trail for owners: /admin/audit with filters, and its CSV download."""

from __future__ import annotations

from datetime import date

from flask import Response, render_template, request

from handlers.admin.access import audit, role_required
from handlers.admin.blueprint import bp, now
from handlers.services import services
from selfserve.console import AuditFilter, audit_choices, audit_csv, audit_page


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def _chosen_filter() -> AuditFilter:
    return AuditFilter(
        actor=request.args.get("actor", "").strip()[:254],
        action=request.args.get("action", "").strip()[:64],
        since=_day("since"),
        until=_day("until"),
    )


def _filter_args(chosen: AuditFilter) -> dict[str, str]:
    values = {
        "actor": chosen.actor,
        "action": chosen.action,
        "since": chosen.since.isoformat() if chosen.since else "",
        "until": chosen.until.isoformat() if chosen.until else "",
    }
    return {key: value for key, value in values.items() if value}


@bp.get("/audit")
@role_required("owner")
def audit_trail_page() -> str:
    """Who did what, newest first, filtered by user, action and dates."""
    chosen = _chosen_filter()
    page_text = request.args.get("page", "1")
    page = int(page_text) if page_text.isdigit() and 0 < int(page_text) < 100_000 else 1
    with services().sessions() as db:
        entries, has_older = audit_page(db, chosen, page)
        actors, actions = audit_choices(db)
    return render_template(
        "admin/audit.html",
        entries=entries,
        has_older=has_older,
        page=page,
        actors=actors,
        actions=actions,
        chosen=chosen,
        filter_args=_filter_args(chosen),
    )


@bp.get("/audit.csv")
@role_required("owner")
def audit_trail_csv() -> Response:
    """The filtered trail as CSV, one line per changed field (numbers masked)."""
    chosen = _chosen_filter()
    with services().sessions() as db:
        text = audit_csv(db, chosen)
    name = f"selfserve-audit-{now().date().isoformat()}.csv"
    audit("download", name)
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
