"""MFA_REQUIRED's default and the OIDC_* settings: read once, refused when they cannot work."""

from __future__ import annotations

import pytest

from selfserve.errors import SettingsError
from selfserve.ops import RoleClaim, Settings, parse_role_claim


@pytest.mark.parametrize(
    ("environment", "required"),
    [
        ({"PUBLIC_BASE_URL": "https://sms.acme.example"}, True),
        ({"PUBLIC_BASE_URL": "http://127.0.0.1:5000"}, False),
        ({}, False),  # `make run`
        ({"PUBLIC_BASE_URL": "https://sms.acme.example", "MFA_REQUIRED": "false"}, False),
        ({"PUBLIC_BASE_URL": "http://localhost:5000", "MFA_REQUIRED": "true"}, True),
    ],
)
def test_mfa_is_required_by_default_on_https_only(tmp_path, environment, required):
    settings = Settings.from_environment({"INSTANCE_PATH": str(tmp_path), **environment})
    assert settings.requires_mfa is required


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"MFA_REQUIRED": "sometimes"}, "MFA_REQUIRED"),
        ({"OIDC_ONLY": "true"}, "OIDC_ONLY"),
        ({"OIDC_ISSUER": "idp.acme.example", "OIDC_CLIENT_ID": "c"}, "OIDC_ISSUER"),
        ({"OIDC_ISSUER": "https://idp.acme.example"}, "OIDC_CLIENT_ID"),
        (
            {
                "OIDC_ISSUER": "https://idp.acme.example",
                "OIDC_CLIENT_ID": "c",
                "OIDC_CLIENT_SECRET": "s",
                "OIDC_ROLE_CLAIM": "groups:admins=boss",
            },
            "OIDC_ROLE_CLAIM",
        ),
    ],
)
def test_unusable_sign_in_settings_stop_start_up_naming_the_variable(tmp_path, environment, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_environment({"INSTANCE_PATH": str(tmp_path), **environment})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", RoleClaim()),
        ("role", RoleClaim("role")),
        (
            "groups: sso-admins=owner, marketing=Editor",
            RoleClaim("groups", {"sso-admins": "owner", "marketing": "editor"}),
        ),
    ],
)
def test_the_role_claim_names_a_claim_and_optionally_maps_its_values(raw, expected):
    assert parse_role_claim(raw) == expected
