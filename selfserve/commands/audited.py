"""Auditing from the command line: who ran a command (`cli:<os user>`), and the record call."""

from __future__ import annotations

import getpass
import os

from selfserve.services import Services


def cli_actor() -> str:
    """`cli:` and the operating-system user running the command."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # a container user with no passwd entry
        name = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{name}"


def audit_cli(
    services: Services,
    action: str,
    target: str,
    outcome: str = "ok",
    changes: dict | None = None,
) -> None:
    """Record a command in the audit trail (no address: it ran on this host)."""
    services.audit.record(
        actor=cli_actor(),
        action=action,
        target=target,
        outcome=outcome,
        address="localhost",
        changes=changes,
    )
