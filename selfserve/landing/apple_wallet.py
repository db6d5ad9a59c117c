"""Apple Wallet passes of a coupon code (`.pkpass`), signed with the pass certificate.

A pass is a zip: `pass.json`, the pictures, `manifest.json` (the SHA-1 of every other file,
as Apple's format asks) and `signature`, a detached PKCS#7 (DER) signature of the manifest
made with the pass certificate and carrying Apple's WWDR intermediate certificate. Signing
uses `cryptography`'s PKCS#7 builder (no openssl subprocess). The certificates are read once;
a broken configuration (unreadable file, key that is not the certificate's) is a `problem`
that `flask --app app check` reports and that hides the button, never a shopper's 500.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs7
from PIL import Image

PKPASS_TYPE = "application/vnd.apple.pkpass"
APPLE_BARCODES = {"code128": "PKBarcodeFormatCode128", "qr": "PKBarcodeFormatQR"}


@dataclass(frozen=True)
class PassFacts:
    """What a wallet pass says: whose code, in which campaign, until when, in which symbol."""

    serial: str  # unique per code: the code page's token
    campaign_slug: str
    campaign_name: str
    code: str
    expires_at: datetime | None
    barcode: str  # code128 | qr | none
    brand_colour: str = "#1e5b3a"


@dataclass(frozen=True)
class _Signer:
    certificate: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes
    wwdr: x509.Certificate


class ApplePasses:
    """Makes signed passes when APPLE_PASS_TYPE_ID, _TEAM_ID, _PASS_CERT and WWDR_CERT are set."""

    def __init__(
        self,
        pass_type_id: str,
        team_id: str,
        pass_cert_path: str,
        wwdr_cert_path: str,
        organization: str,
    ) -> None:
        self._pass_type_id = pass_type_id
        self._team_id = team_id
        self._pass_cert_path = pass_cert_path
        self._wwdr_cert_path = wwdr_cert_path
        self._organization = organization

    @property
    def configured(self) -> bool:
        """True when every Apple setting is given (they may still be broken: see `problem`)."""
        return all((self._pass_type_id, self._team_id, self._pass_cert_path, self._wwdr_cert_path))

    @property
    def problem(self) -> str:
        """Why configured passes cannot be signed ("" when they can, or when unconfigured)."""
        return self._loaded[1]

    @property
    def available(self) -> bool:
        """True when a pass can be made: configured and its certificates work."""
        return self._loaded[0] is not None

    @cached_property
    def _loaded(self) -> tuple[_Signer | None, str]:
        if not self.configured:
            return None, ""
        try:
            return _read_signer(Path(self._pass_cert_path), Path(self._wwdr_cert_path)), ""
        except (OSError, ValueError, TypeError) as error:
            return None, f"Apple Wallet: {error}"

    def make(self, facts: PassFacts) -> bytes:
        """The signed `.pkpass` zip of one code. Raises RuntimeError when not `available`."""
        signer = self._loaded[0]
        if signer is None:
            raise RuntimeError(self.problem or "Apple Wallet is not configured")
        files = {"pass.json": self._pass_json(facts), **_pictures(facts.brand_colour)}
        manifest = json.dumps(
            {name: hashlib.sha1(body).hexdigest() for name, body in files.items()},  # noqa: S324 - Apple's manifest format
            sort_keys=True,
        ).encode()
        signature = (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(manifest)
            .add_signer(signer.certificate, signer.key, hashes.SHA256())  # type: ignore[arg-type]  # RSA/EC keys only
            .add_certificate(signer.wwdr)
            .sign(
                serialization.Encoding.DER,
                [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
            )
        )
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, body in {**files, "manifest.json": manifest, "signature": signature}.items():
                archive.writestr(name, body)
        return out.getvalue()

    def _pass_json(self, facts: PassFacts) -> bytes:
        expiry = _iso(facts.expires_at)
        fields: dict[str, object] = {
            "primaryFields": [{"key": "offer", "label": "Offer", "value": facts.campaign_name}],
            "secondaryFields": [{"key": "code", "label": "Code", "value": facts.code}],
        }
        if expiry:
            fields["auxiliaryFields"] = [
                {
                    "key": "expires",
                    "label": "Valid until",
                    "value": expiry,
                    "dateStyle": "PKDateStyleMedium",
                }
            ]
        document: dict[str, object] = {
            "formatVersion": 1,
            "passTypeIdentifier": self._pass_type_id,
            "teamIdentifier": self._team_id,
            "serialNumber": facts.serial,
            "organizationName": self._organization,
            "description": f"{facts.campaign_name} coupon",
            "logoText": self._organization,
            "coupon": fields,
        }
        if expiry:
            document["expirationDate"] = expiry
        if facts.barcode in APPLE_BARCODES:
            symbol = {
                "format": APPLE_BARCODES[facts.barcode],
                "message": facts.code,
                "messageEncoding": "iso-8859-1",
                "altText": facts.code,
            }
            document["barcodes"] = [symbol]
        return json.dumps(document, indent=2).encode()


def _read_signer(pass_cert: Path, wwdr_cert: Path) -> _Signer:
    """The pass certificate and its key (one PEM file) and the WWDR certificate."""
    pem = pass_cert.read_bytes()
    certificate = x509.load_pem_x509_certificate(pem)
    key = serialization.load_pem_private_key(_key_block(pem), password=None)
    if key.public_key().public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise ValueError(f"the private key in {pass_cert} is not the certificate's key")
    wwdr = x509.load_pem_x509_certificate(wwdr_cert.read_bytes())
    return _Signer(certificate, key, wwdr)  # type: ignore[arg-type]


def _key_block(pem: bytes) -> bytes:
    start = pem.find(b"-----BEGIN ")
    while start != -1:
        if b"PRIVATE KEY-----" in pem[start : pem.find(b"\n", start)]:
            return pem[start:]
        start = pem.find(b"-----BEGIN ", start + 1)
    raise ValueError("no private key in the pass certificate file (PEM: certificate + key)")


def _iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec="seconds")


def _pictures(colour: str) -> dict[str, bytes]:
    """Icon and logo: plain squares in the brand colour (Wallet requires an icon)."""
    sizes = {"icon.png": (29, 29), "icon@2x.png": (58, 58), "logo.png": (160, 50)}
    pictures = {}
    for name, size in sizes.items():
        out = io.BytesIO()
        Image.new("RGB", size, colour).save(out, format="PNG")
        pictures[name] = out.getvalue()
    return pictures
