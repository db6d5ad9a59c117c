"""Passkeys (WebAuthn, py_webauthn): register several per user, log in with one.

The relying party is PUBLIC_BASE_URL's host name. Browsers only offer passkeys to a secure
context on a host name: https, or http://localhost in development; never an IP address.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from selfserve.console.events import RecordEvent
from selfserve.console.users import ConsoleAccount, find_user
from selfserve.errors import SecondFactorError
from selfserve.models import ConsolePasskey, utcnow


def passkey_host_problem(public_base_url: str) -> str | None:
    """Why this install cannot hold passkeys (an IP address, plain http), or None if it can."""
    parts = urlsplit(public_base_url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return (
            f"Passkeys need a host name, and this console is served at the IP address {host}. "
            "Set PUBLIC_BASE_URL to https://your.host.name (or http://localhost:PORT on a "
            "development machine) to use them."
        )
    if parts.scheme != "https" and host != "localhost":
        return (
            "Passkeys need https (or http://localhost on a development machine); "
            f"PUBLIC_BASE_URL is {parts.scheme}://{host}."
        )
    return None


@dataclass(frozen=True)
class PasskeyOptions:
    """What the browser is asked (JSON for navigator.credentials) and the challenge to keep."""

    options_json: str
    challenge: bytes
    user_handle: str = ""  # registration: base64url of the user.id the authenticator keeps


class Passkeys:
    """Registers, checks and removes console users' passkeys (py_webauthn)."""

    def __init__(
        self,
        public_base_url: str,
        program_name: str,
        record_event: RecordEvent,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        parts = urlsplit(public_base_url)
        self.problem = passkey_host_problem(public_base_url)
        self.rp_id = parts.hostname or ""
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._name = program_name
        self._record = record_event
        self._clock = clock

    def registration_options(self, db: Session, account: ConsoleAccount) -> PasskeyOptions:
        """Options to create a discoverable passkey for `account` (never one it already has)."""
        self._check_host()
        keys = self._keys_of(db, account.id)
        handle = keys[0].user_handle if keys else bytes_to_base64url(secrets.token_bytes(32))
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self._name,
            user_name=account.email,
            user_id=base64url_to_bytes(handle),
            user_display_name=account.email,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
                for key in keys
            ],
        )
        return PasskeyOptions(options_to_json(options), options.challenge, handle)

    def register(
        self,
        db: Session,
        account: ConsoleAccount,
        name: str,
        credential_json: str,
        challenge: bytes,
        user_handle: str,
        address: str | None = None,
    ) -> None:
        """Keep the passkey the browser made for the options with `challenge` and
        `user_handle`; raises SecondFactorError if it does not verify."""
        self._check_host()
        label = " ".join(name.split())[:64] or "Passkey"
        try:
            verified = verify_registration_response(
                credential=credential_json,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as error:
            raise SecondFactorError(f"The passkey could not be checked: {error}") from None
        db.add(
            ConsolePasskey(
                user_id=account.id,
                name=label,
                credential_id=bytes_to_base64url(verified.credential_id),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                user_handle=user_handle,
                created_at=self._clock(),
            )
        )
        try:
            db.flush()
        except IntegrityError:
            raise SecondFactorError("This passkey is registered already.") from None
        changes = {"factor": "passkey", "name": label}
        self._record(account.email, "mfa_enrol", account.email, "ok", address, changes)

    def authentication_options(self, db: Session, user_id: int | None) -> PasskeyOptions:
        """Options to sign in: the user's passkeys, or any (discoverable) when `user_id` is None."""
        self._check_host()
        keys = [] if user_id is None else self._keys_of(db, user_id)
        options = generate_authentication_options(
            rp_id=self.rp_id,
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
                for key in keys
            ],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return PasskeyOptions(options_to_json(options), options.challenge)

    def authenticate(
        self, db: Session, credential_json: str, challenge: bytes, user_id: int | None = None
    ) -> ConsoleAccount:
        """The account whose passkey signed `challenge` (and is `user_id`'s when given).

        Raises SecondFactorError for an unknown passkey, another user's, or a bad signature.
        """
        self._check_host()
        key = self._key_of_credential(db, credential_json)
        if key is None or (user_id is not None and key.user_id != user_id):
            raise SecondFactorError("That passkey is not registered for this console account.")
        try:
            verified = verify_authentication_response(
                credential=credential_json,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                credential_public_key=key.public_key,
                credential_current_sign_count=key.sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as error:
            raise SecondFactorError(f"The passkey could not be checked: {error}") from None
        key.sign_count = verified.new_sign_count
        key.last_used_at = self._clock()
        db.flush()
        account = find_user(db, key.user_id)
        if account is None or not account.is_active:
            raise SecondFactorError("That passkey's account is gone or deactivated.")
        return account

    def remove(
        self, db: Session, account: ConsoleAccount, passkey_id: int, address: str | None = None
    ) -> None:
        """Remove one of the user's passkeys; raises SecondFactorError if it is not theirs."""
        key = db.get(ConsolePasskey, passkey_id)
        if key is None or key.user_id != account.id:
            raise SecondFactorError("No such passkey.")
        db.delete(key)
        db.flush()
        changes = {"factor": "passkey", "name": key.name}
        self._record(account.email, "mfa_remove", account.email, "ok", address, changes)

    def _check_host(self) -> None:
        if self.problem:
            raise SecondFactorError(self.problem)

    def _keys_of(self, db: Session, user_id: int) -> list[ConsolePasskey]:
        return list(
            db.scalars(
                select(ConsolePasskey)
                .where(ConsolePasskey.user_id == user_id)
                .order_by(ConsolePasskey.id)
            )
        )

    def _key_of_credential(self, db: Session, credential_json: str) -> ConsolePasskey | None:
        try:
            credential_id = str(json.loads(credential_json)["id"])
        except (ValueError, KeyError, TypeError):
            return None
        return db.scalar(
            select(ConsolePasskey).where(ConsolePasskey.credential_id == credential_id[:1400])
        )
