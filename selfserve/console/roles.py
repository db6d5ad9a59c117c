"""Console roles: who may do what, checked on the server for every page, form and download.

Three roles, each including the one below it:
- `viewer`: the dashboard, statistics, the masked message log and posters; changes nothing and
  downloads nothing that holds a phone number;
- `editor`: also campaigns (create, edit, pause, test, warm-up), draws and the simulator;
- `owner`: everything, including users, roles and the audit trail.
"""

from __future__ import annotations

from selfserve.errors import ConsoleUserError

ROLES = ("viewer", "editor", "owner")  # least to most allowed
FIRST_USER_ROLE = "owner"  # the first account ever made must be able to manage the rest
DEFAULT_ROLE = "viewer"  # later accounts start with least privilege


def check_role(role: str) -> str:
    """`role` lower-cased; raises ConsoleUserError when it is not one of ROLES."""
    name = (role or "").strip().lower()
    if name not in ROLES:
        raise ConsoleUserError(f"{role!r} is not a role: use {', '.join(ROLES)}")
    return name


def role_allows(role: str, needed: str) -> bool:
    """True when a user with `role` may do what needs `needed` (owner > editor > viewer)."""
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)
