"""Wallet passes over HTTP: a .pkpass checked with openssl, a Google link's JWT with PyJWT.

The Apple certificates are made by openssl on the fly (a stand-in WWDR CA and a pass
certificate it signed), as the harness does; the signature is verified by `openssl smime`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app import create_app
from tests.conftest import import_campaigns_text
from tests.phone_visitor import PhoneVisitor, one_time_code
from tests.test_code_pages import CAMPAIGNS, code_and_token, decoded


def openssl(*arguments: str, cwd: Path) -> None:
    subprocess.run(["openssl", *arguments], cwd=cwd, check=True, capture_output=True)  # noqa: S603, S607


@pytest.fixture
def apple_files(tmp_path: Path) -> dict[str, str]:
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "wwdr.key",
        "-out",
        "wwdr.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Stand-in WWDR",
        cwd=tmp_path,
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "pass.key",
        "-out",
        "pass.csr",
        "-subj",
        "/CN=Pass Type ID: pass.test",
        cwd=tmp_path,
    )
    openssl(
        "x509",
        "-req",
        "-in",
        "pass.csr",
        "-CA",
        "wwdr.pem",
        "-CAkey",
        "wwdr.key",
        "-CAcreateserial",
        "-out",
        "pass.crt",
        "-days",
        "2",
        cwd=tmp_path,
    )
    both = (tmp_path / "pass.crt").read_bytes() + (tmp_path / "pass.key").read_bytes()
    (tmp_path / "pass.pem").write_bytes(both)
    return {"cert": str(tmp_path / "pass.pem"), "wwdr": str(tmp_path / "wwdr.pem")}


@pytest.fixture
def google_key(tmp_path: Path) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    account = {"client_email": "wallet@test.iam.gserviceaccount.com", "private_key": pem}
    (tmp_path / "google.json").write_text(json.dumps(account))
    return key


@pytest.fixture
def wallet_app(settings, apple_files, google_key, tmp_path):
    app = create_app(
        replace(
            settings,
            apple_pass_type_id="pass.test",
            apple_team_id="TEAM123",
            apple_pass_cert=apple_files["cert"],
            apple_wwdr_cert=apple_files["wwdr"],
            google_wallet_issuer_id="3388000000012345678",
            google_wallet_key_file=str(tmp_path / "google.json"),
        )
    )
    import_campaigns_text(app, CAMPAIGNS.replace("{barcode}", "code128"))
    yield app
    app.extensions["selfserve"].close()


def verify_signature(folder, *options: str) -> None:
    """`openssl smime -verify` the pass's detached signature over manifest.json in `folder`."""
    openssl(
        *("smime", "-verify", "-binary", "-inform", "DER", "-in", "signature"),
        *("-content", "manifest.json", *options, "-out", "/dev/null"),
        cwd=folder,
    )


def test_the_pkpass_is_a_signed_zip_whose_manifest_matches_and_whose_barcode_is_the_code(
    wallet_app, apple_files, tmp_path
):
    client = wallet_app.test_client()
    code, token = code_and_token(client)
    answer = client.get(f"/c/{token}/pass.pkpass")
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.apple.pkpass"
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    manifest = json.loads(archive.read("manifest.json"))
    expected = {"pass.json", "icon.png", "icon@2x.png", "logo.png"}
    assert set(manifest) == expected
    for name, digest in manifest.items():
        assert hashlib.sha1(archive.read(name)).hexdigest() == digest  # noqa: S324
    document = json.loads(archive.read("pass.json"))
    assert document["barcodes"][0]["message"] == code
    assert document["barcodes"][0]["format"] == "PKBarcodeFormatCode128"
    assert document["serialNumber"] == token
    (tmp_path / "manifest.json").write_bytes(archive.read("manifest.json"))
    (tmp_path / "signature").write_bytes(archive.read("signature"))
    verify_signature(tmp_path, "-CAfile", apple_files["wwdr"], "-purpose", "any")
    (tmp_path / "manifest.json").write_bytes(b"{}")  # a changed manifest fails the signature
    with pytest.raises(subprocess.CalledProcessError):
        verify_signature(tmp_path, "-noverify")


def test_the_google_link_is_a_jwt_that_verifies_with_the_public_key_and_holds_the_code(
    wallet_app, google_key
):
    client = wallet_app.test_client()
    code, token = code_and_token(client)
    page = client.get(f"/c/{token}").get_data(as_text=True)
    assert "Add to Apple Wallet" in page
    link = re.search(r'href="https://pay\.google\.com/gp/v/save/([^"]+)"', page)
    assert link is not None
    claims = jwt.decode(
        link.group(1), google_key.public_key(), algorithms=["RS256"], audience="google"
    )
    assert claims["iss"] == "wallet@test.iam.gserviceaccount.com"
    assert claims["typ"] == "savetowallet"
    offer = claims["payload"]["offerObjects"][0]
    assert offer["barcode"] == {"type": "CODE_128", "value": code, "alternateText": code}
    assert offer["classId"] == "3388000000012345678.spring"
    assert claims["payload"]["offerClasses"][0]["title"] == "Spring 20% off"


def test_the_landing_pages_code_view_shows_the_code_pages_barcode_and_wallet_buttons(
    wallet_app, twilio_stand_in, talon_stand_in
):
    visitor = PhoneVisitor(wallet_app.test_client())
    visitor.scan()
    visitor.enter_number("0491 570 156")
    visitor.enter_code(one_time_code(twilio_stand_in.messages_to("+61491570156")[-1].body))
    [coupon] = talon_stand_in.coupons.values()
    page = visitor.page
    png = re.search(r'src="(/c/([A-Za-z0-9_-]+)/barcode)\.svg"', page)
    assert png is not None, page
    picture = visitor.client.get(png.group(1) + ".png")
    assert picture.status_code == 200
    assert decoded(picture.data) == [("CODE128", coupon["Value"])]
    assert f'href="/c/{png.group(2)}/pass.pkpass"' in page
    assert "Add to Apple Wallet" in page
    link = re.search(r'href="https://pay\.google\.com/gp/v/save/([^"]+)"', page)
    assert link is not None
    assert visitor.client.get(f"/c/{png.group(2)}/pass.pkpass").status_code == 200


def test_a_broken_wallet_config_fails_check_and_hides_the_button(settings, tmp_path):
    (tmp_path / "broken.pem").write_text("not a certificate")
    app = create_app(
        replace(
            settings,
            apple_pass_type_id="pass.test",
            apple_team_id="TEAM123",
            apple_pass_cert=str(tmp_path / "broken.pem"),
            apple_wwdr_cert=str(tmp_path / "broken.pem"),
        )
    )
    try:
        result = app.test_cli_runner().invoke(args=["check"])
        assert result.exit_code == 1
        assert "Apple Wallet" in result.output
        import_campaigns_text(app, CAMPAIGNS.replace("{barcode}", "code128"))
        client = app.test_client()
        _, token = code_and_token(client)
        page = client.get(f"/c/{token}")
        assert page.status_code == 200
        assert "Apple Wallet" not in page.get_data(as_text=True)
        assert client.get(f"/c/{token}/pass.pkpass").status_code == 404
    finally:
        app.extensions["selfserve"].close()


def test_dev_cert_writes_certificates_that_sign_passes(runner, tmp_path):
    result = runner.invoke(args=["wallet", "dev-cert", str(tmp_path / "certs")])
    assert result.exit_code == 0, result.output
    pem = (tmp_path / "certs" / "pass.pem").read_bytes()
    assert b"PRIVATE KEY" in pem
    assert b"CERTIFICATE" in (tmp_path / "certs" / "wwdr.pem").read_bytes()
