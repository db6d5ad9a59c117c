"""Who may open what: `role_required` on every console view, the 403 page, and auditing.

The blueprint's guard (blueprint.py) reads the role a view declares and refuses, before the
view runs, a user whose role is below it: nothing can change. A view that forgot to declare
one needs `owner` (fail closed). A refusal is a 403 page naming the role it needs, and a row
in the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, render_template, request
from flask_login import current_user

from handlers.services import services
from handlers.web import client_address
from selfserve.console import role_allows

log = logging.getLogger(__name__)
View = TypeVar("View", bound=Callable[..., Any])
READS = ("GET", "HEAD", "OPTIONS")


def role_required(role: str, *, to_change: str | None = None) -> Callable[[View], View]:
    """Declare the role a view needs; `to_change` is a higher one for its POSTs."""

    def declare(view: View) -> View:
        view.required_role = role  # type: ignore[attr-defined]
        view.change_role = to_change or role  # type: ignore[attr-defined]
        return view

    return declare


def needed_role(endpoint: str | None, method: str) -> str:
    """The role the endpoint's view declares for `method`; `owner` when it declares none."""
    view = current_app.view_functions.get(endpoint or "")
    if method in READS:
        return getattr(view, "required_role", "owner")
    return getattr(view, "change_role", "owner")


def is_allowed(role: str) -> bool:
    """True when the logged-in user's role reaches `role` (for templates: `can('editor')`)."""
    return bool(current_user.is_authenticated) and role_allows(current_user.role, role)


def audit(action: str, target: str = "", outcome: str = "ok", changes: dict | None = None) -> None:
    """Record what the logged-in user (or an anonymous visitor) did, from their address."""
    actor = current_user.email if current_user.is_authenticated else "anonymous"
    services().audit.record(
        actor=actor,
        action=action,
        target=target,
        outcome=outcome,
        address=client_address(),
        changes=changes,
    )


def refuse(needed: str) -> tuple[str, int]:
    """The 403 page saying which role is needed; the attempt goes into the audit trail."""
    action = (request.endpoint or "unknown").rpartition(".")[2]
    target = str(next(iter((request.view_args or {}).values()), request.path))
    audit(action, target, outcome=f"refused (403): needs {needed}")
    log.info("console_refused", extra={"action": action, "needed": needed})
    message = (
        f"This needs the {needed} role; your account is a {current_user.role}. "
        "Nothing was changed. Ask an owner if you need it."
    )
    return (
        render_template(
            "admin/problem.html", title=f"This needs the {needed} role", message=message
        ),
        403,
    )
