"""`check` (what is configured, and whether it works) and `wallet dev-cert DIR`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from selfserve.services import Services


def check_command(get_services: Callable[[], Services]) -> click.Command:
    """`check`: print what is configured; exit 1 when a configured wallet is broken."""

    @click.command("check")
    def check() -> None:
        """Say what is configured; fail on a broken wallet configuration."""
        services = get_services()
        settings = services.settings
        click.echo(f"Talon.One: {'sandbox' if settings.talon_sandbox else 'live'}")
        click.echo(f"SMS: {'sandbox outbox' if settings.sms_sandbox else 'Twilio'}")
        flow = services.code_page_flow
        for wallet, configured in flow.wallets_configured().items():
            click.echo(f"{wallet}: {'configured' if configured else 'not configured (no button)'}")
        problems = flow.wallet_problems()
        for problem in problems:
            click.echo(f"problem: {problem}", err=True)
        if problems:
            raise SystemExit(1)
        click.echo("ok")

    return check


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, issuer: str, key, signer, ca: bool) -> x509.Certificate:  # noqa: ANN001
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())
    )


@click.group("wallet")
def wallet_group() -> None:
    """Wallet passes: development certificates."""


@wallet_group.command("dev-cert")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def dev_cert(directory: Path) -> None:
    """Write a stand-in WWDR certificate and a pass certificate + key it signed (not Apple's)."""
    directory.mkdir(parents=True, exist_ok=True)
    wwdr_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wwdr = _certificate(
        "Stand-in WWDR (development only)",
        "Stand-in WWDR (development only)",
        wwdr_key,
        wwdr_key,
        ca=True,
    )
    pass_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _certificate(
        "Pass Type ID: pass.dev.selfserve",
        wwdr.subject.rfc4514_string().removeprefix("CN="),
        pass_key,
        wwdr_key,
        ca=False,
    )
    pem = serialization.Encoding.PEM
    (directory / "wwdr.pem").write_bytes(wwdr.public_bytes(pem))
    (directory / "pass.pem").write_bytes(
        cert.public_bytes(pem)
        + pass_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    click.echo(f"APPLE_PASS_CERT={directory / 'pass.pem'}")
    click.echo(f"APPLE_WWDR_CERT={directory / 'wwdr.pem'}")
    click.echo("APPLE_PASS_TYPE_ID=pass.dev.selfserve")
    click.echo("APPLE_TEAM_ID=DEVTEAM123")
