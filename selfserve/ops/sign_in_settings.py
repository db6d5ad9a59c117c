"""The console sign-in settings' rules: MFA_REQUIRED's default and the OIDC_* variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from selfserve.errors import SettingsError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
ROLES = ("owner", "editor", "viewer")  # most privileged first


@dataclass(frozen=True)
class RoleClaim:
    """OIDC_ROLE_CLAIM parsed: the ID token claim to read, and what its values mean.

    `groups` alone: a value equal to a role's name (owner, editor, viewer) gives that role.
    `groups:sso-admins=owner,marketing=editor`: only the listed values count, as mapped.
    """

    claim: str = ""
    values: dict[str, str] = field(default_factory=lambda: {role: role for role in ROLES})


def parse_role_claim(raw: str) -> RoleClaim:
    """OIDC_ROLE_CLAIM as a RoleClaim (empty: no claim read); raises SettingsError if unusable."""
    claim, _, mapping = raw.strip().partition(":")
    if not claim.strip():
        if raw.strip():
            raise SettingsError("OIDC_ROLE_CLAIM must start with the claim's name")
        return RoleClaim()
    if not mapping.strip():
        return RoleClaim(claim.strip())
    values: dict[str, str] = {}
    for pair in mapping.split(","):
        value, _, role = pair.partition("=")
        if not value.strip() or role.strip().lower() not in ROLES:
            raise SettingsError(
                "OIDC_ROLE_CLAIM: write CLAIM or CLAIM:value=role,value=role "
                f"with roles among {', '.join(ROLES)} (got {pair.strip()!r})"
            )
        values[value.strip()] = role.strip().lower()
    return RoleClaim(claim.strip(), values)


def mfa_setting(raw: str, public_base_url: str) -> bool:
    """MFA_REQUIRED as a bool; empty means "on when the install is served over https"."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return public_base_url.startswith("https://")


def validate_sign_in(settings: Any) -> None:
    """Raise SettingsError naming MFA_REQUIRED or the OIDC_* variable that cannot work."""
    if settings.mfa_required.strip().lower() not in ("", *_TRUE, *_FALSE):
        raise SettingsError("MFA_REQUIRED must be true or false (or empty for the default)")
    if not settings.oidc_issuer:
        if settings.oidc_only:
            raise SettingsError("OIDC_ONLY=true needs OIDC_ISSUER, OIDC_CLIENT_ID and a secret")
        return
    parts = urlsplit(settings.oidc_issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError("OIDC_ISSUER must be the identity provider's http(s) issuer URL")
    if not settings.oidc_client_id or not settings.oidc_client_secret:
        raise SettingsError("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET too")
    parse_role_claim(settings.oidc_role_claim)  # raises SettingsError naming OIDC_ROLE_CLAIM
