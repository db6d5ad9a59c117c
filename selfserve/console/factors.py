"""Second factors of console users: authenticator apps (TOTP) and recovery codes.

A user enrols an app by scanning a QR code (or typing its secret) and confirming one code;
ten recovery codes are made with the first factor. At log-in a code counts once: its time
step is stored, and the same or an earlier step is refused as a replay (RFC 6238 5.2). The
update that stores it is conditional, so two requests racing with one code cannot both pass.
Every enrolment, removal, replay, failure and recovery-code use goes to `record_event`.
Passkeys live in `passkeys.py`; the listing here counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from selfserve.console.events import RecordEvent
from selfserve.console.recovery_codes import (
    hash_recovery_code,
    new_recovery_codes,
    recovery_code_matches,
)
from selfserve.console.totp import (
    looks_like_totp,
    matching_step,
    new_totp_secret,
    provisioning_uri,
    qr_data_uri,
)
from selfserve.console.users import ConsoleAccount
from selfserve.errors import SecondFactorError
from selfserve.models import ConsolePasskey, ConsoleRecoveryCode, ConsoleTotp, utcnow

TOTP = "totp"
RECOVERY_CODE = "recovery code"


@dataclass(frozen=True)
class PasskeySummary:
    """A registered passkey as the security page lists it (never its key)."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class FactorSummary:
    """What a user has enrolled."""

    has_totp: bool
    recovery_codes_left: int
    passkeys: tuple[PasskeySummary, ...]

    @property
    def has_factor(self) -> bool:
        """True when the user can give a second factor (recovery codes alone are not one)."""
        return self.has_totp or bool(self.passkeys)


@dataclass(frozen=True)
class TotpEnrolment:
    """A secret waiting for its first code: the text, its otpauth:// link and that link's QR."""

    secret: str
    uri: str
    qr_data_uri: str


class SecondFactors:
    """Enrols, checks and removes authenticator apps and recovery codes."""

    def __init__(
        self,
        record_event: RecordEvent,
        issuer: str = "selfserve",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._record = record_event
        self._issuer = issuer
        self._clock = clock

    def summary(self, db: Session, user_id: int) -> FactorSummary:
        """The user's factors: app or not, recovery codes left, passkeys by name."""
        passkeys = db.scalars(
            select(ConsolePasskey)
            .where(ConsolePasskey.user_id == user_id)
            .order_by(ConsolePasskey.created_at, ConsolePasskey.id)
        )
        return FactorSummary(
            has_totp=self._confirmed_totp(db, user_id) is not None,
            recovery_codes_left=self._codes_left(db, user_id),
            passkeys=tuple(
                PasskeySummary(key.id, key.name, key.created_at, key.last_used_at)
                for key in passkeys
            ),
        )

    def has_factor(self, db: Session, user_id: int) -> bool:
        """True when the user has an app or a passkey (one cheap query each)."""
        if self._confirmed_totp(db, user_id) is not None:
            return True
        return (
            db.scalar(select(ConsolePasskey.id).where(ConsolePasskey.user_id == user_id).limit(1))
            is not None
        )

    def start_totp(self, db: Session, account: ConsoleAccount) -> TotpEnrolment:
        """The secret waiting for confirmation: the same one until confirmed, else a new one."""
        pending = db.scalar(
            select(ConsoleTotp).where(
                ConsoleTotp.user_id == account.id, ConsoleTotp.confirmed_at.is_(None)
            )
        )
        if pending is None:
            pending = ConsoleTotp(
                user_id=account.id, secret=new_totp_secret(), created_at=self._clock()
            )
            db.add(pending)
            db.flush()
        uri = provisioning_uri(pending.secret, account.email, self._issuer)
        return TotpEnrolment(pending.secret, uri, qr_data_uri(uri))

    def confirm_totp(
        self, db: Session, account: ConsoleAccount, code: str, address: str | None = None
    ) -> list[str]:
        """Confirm the waiting secret with a code from the app; it replaces any older app.

        Returns the new recovery codes when the user had none left (shown once), else [].
        Raises SecondFactorError when nothing waits or the code does not match.
        """
        pending = db.scalar(
            select(ConsoleTotp).where(
                ConsoleTotp.user_id == account.id, ConsoleTotp.confirmed_at.is_(None)
            )
        )
        if pending is None:
            raise SecondFactorError("Start again: this page's code has expired.")
        if matching_step(pending.secret, code, self._clock()) is None:
            raise SecondFactorError(
                "That code didn't match. Check the phone's clock and try again."
            )
        # The confirming code is not a log-in: the first log-in may still use its time step.
        db.execute(
            delete(ConsoleTotp).where(
                ConsoleTotp.user_id == account.id, ConsoleTotp.id != pending.id
            )
        )
        pending.confirmed_at = self._clock()
        db.flush()
        self._record(account.email, "mfa_enrol", account.email, "ok", address, {"factor": TOTP})
        if self._codes_left(db, account.id):
            return []
        return self.renew_recovery_codes(db, account, address)

    def renew_recovery_codes(
        self, db: Session, account: ConsoleAccount, address: str | None = None
    ) -> list[str]:
        """Ten fresh recovery codes (the old ones stop working); returned once, stored hashed."""
        db.execute(delete(ConsoleRecoveryCode).where(ConsoleRecoveryCode.user_id == account.id))
        codes = new_recovery_codes()
        now = self._clock()
        db.add_all(
            ConsoleRecoveryCode(
                user_id=account.id, code_hash=hash_recovery_code(code), created_at=now
            )
            for code in codes
        )
        db.flush()
        self._record(
            account.email, "mfa_recovery_codes", account.email, "ok", address, {"codes": len(codes)}
        )
        return codes

    def check_code(
        self, db: Session, account: ConsoleAccount, typed: str, address: str | None = None
    ) -> str | None:
        """TOTP if `typed` is the app's code (once), RECOVERY_CODE if an unused recovery code
        (used up now); None otherwise. Replays and failures are recorded."""
        if looks_like_totp(typed):
            outcome = self._use_totp(db, account.id, typed)
            if outcome == "ok":
                return TOTP
            self._record(account.email, "mfa_code", account.email, outcome, address)
            return None
        left = self._use_recovery_code(db, account.id, typed)
        if left is None:
            self._record(account.email, "mfa_code", account.email, "failed", address)
            return None
        self._record(
            account.email, "mfa_recovery_code", account.email, "ok", address, {"codes_left": left}
        )
        return RECOVERY_CODE

    def remove_totp(self, db: Session, account: ConsoleAccount, address: str | None = None) -> None:
        """Remove the user's app (confirmed or waiting)."""
        removed = db.execute(delete(ConsoleTotp).where(ConsoleTotp.user_id == account.id)).rowcount
        if removed:
            self._record(
                account.email, "mfa_remove", account.email, "ok", address, {"factor": TOTP}
            )

    def reset(self, db: Session, account: ConsoleAccount, actor: str) -> None:
        """Remove every factor and recovery code of the user (`users reset-mfa`)."""
        for table in (ConsoleTotp, ConsoleRecoveryCode, ConsolePasskey):
            db.execute(delete(table).where(table.user_id == account.id))
        db.flush()
        self._record(actor, "mfa_reset", account.email, "ok")

    def _confirmed_totp(self, db: Session, user_id: int) -> ConsoleTotp | None:
        return db.scalar(
            select(ConsoleTotp).where(
                ConsoleTotp.user_id == user_id, ConsoleTotp.confirmed_at.is_not(None)
            )
        )

    def _codes_left(self, db: Session, user_id: int) -> int:
        return (
            db.scalar(
                select(func.count()).where(
                    ConsoleRecoveryCode.user_id == user_id, ConsoleRecoveryCode.used_at.is_(None)
                )
            )
            or 0
        )

    def _use_totp(self, db: Session, user_id: int, typed: str) -> str:
        """ "ok", "failed" (no app, wrong code) or "refused: replayed" (step already used)."""
        totp = self._confirmed_totp(db, user_id)
        step = None if totp is None else matching_step(totp.secret, typed, self._clock())
        if totp is None or step is None:
            return "failed"
        claimed = db.execute(
            update(ConsoleTotp)
            .where(
                ConsoleTotp.id == totp.id,
                or_(ConsoleTotp.last_step.is_(None), ConsoleTotp.last_step < step),
            )
            .values(last_step=step)
            .execution_options(synchronize_session=False)
        )
        return "ok" if claimed.rowcount == 1 else "refused: replayed"

    def _use_recovery_code(self, db: Session, user_id: int, typed: str) -> int | None:
        """Use the unused code `typed` is; the number left, or None when none matched."""
        unused = db.scalars(
            select(ConsoleRecoveryCode).where(
                ConsoleRecoveryCode.user_id == user_id, ConsoleRecoveryCode.used_at.is_(None)
            )
        ).all()
        match = next((row for row in unused if recovery_code_matches(row.code_hash, typed)), None)
        if match is None:
            return None
        used = db.execute(
            update(ConsoleRecoveryCode)
            .where(ConsoleRecoveryCode.id == match.id, ConsoleRecoveryCode.used_at.is_(None))
            .values(used_at=self._clock())
            .execution_options(synchronize_session=False)
        )
        return len(unused) - 1 if used.rowcount == 1 else None
