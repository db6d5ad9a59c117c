"""The situations the domain names; handlers map them to answers in one table."""

from __future__ import annotations


class SelfserveError(Exception):
    """Base of every error the domain raises on purpose."""


class SettingsError(SelfserveError):
    """A setting has an unusable value; the message names the variable."""


class InvalidPhoneNumber(SelfserveError):
    """A phone number could not be read as a valid E.164 number."""


class CampaignFileError(SelfserveError):
    """A campaigns file has problems; `problems` lists each with its campaign and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class TalonError(SelfserveError):
    """Talon.One did not give us what we asked for."""


class TalonRejected(TalonError):
    """Talon.One answered 400/401/404: a configuration error that retrying will not fix."""

    def __init__(self, status: int, error: str, request_uuid: str) -> None:
        super().__init__(f"Talon.One answered {status}: {error} (RequestUUID {request_uuid})")
        self.status = status
        self.error = error
        self.request_uuid = request_uuid


class TalonUnavailable(TalonError):
    """Talon.One timed out, refused the connection or answered 5xx: worth retrying later."""

    def __init__(self, reason: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds


class TalonRateLimited(TalonUnavailable):
    """Talon.One answered 429, or our own budget is spent; retry after the given time."""

    def __init__(
        self, reason: str, retry_after_seconds: float | None = None, *, own_budget: bool = False
    ) -> None:
        super().__init__(reason, retry_after_seconds)
        self.own_budget = own_budget


class TalonTimedOut(TalonUnavailable):
    """No answer in time: Talon.One may or may not have done what was asked."""


class SmsError(SelfserveError):
    """An outbound SMS was not accepted (or, with `maybe_sent`, we cannot tell whether it was)."""

    def __init__(
        self, reason: str, code: int | None = None, *, permanent: bool, maybe_sent: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.permanent = permanent
        self.maybe_sent = maybe_sent


class RecipientOptedOut(SmsError):
    """The recipient replied STOP (Twilio error 21610): never retry, record the opt-out."""

    def __init__(self, reason: str = "recipient opted out") -> None:
        super().__init__(reason, 21610, permanent=True)


class ConsoleUserError(SelfserveError):
    """A console account cannot be made or changed as asked (bad email, short password, taken)."""


class UnknownCampaign(SelfserveError):
    """No campaign has this slug (a mistyped or old poster URL)."""


class CampaignClosed(SelfserveError):
    """The campaign exists but is not active any more."""


class RegionNotAllowed(SelfserveError):
    """One-time codes are not sent to numbers of this region (SMS-pumping protection)."""

    def __init__(self, region: str | None) -> None:
        super().__init__(f"region {region or 'unknown'} is not allowed")
        self.region = region


class NumberOptedOut(SelfserveError):
    """The number texted STOP: we may not text it until it texts START."""


class TooManyCodeRequests(SelfserveError):
    """One-time codes for this number or client address are rate-limited right now."""

    def __init__(self, limited_by: str, retry_after_seconds: int) -> None:
        super().__init__(f"too many code requests per {limited_by}")
        self.limited_by = limited_by
        self.retry_after_seconds = retry_after_seconds


class NumberRangeBlocked(TooManyCodeRequests):
    """Too many codes went to this number's range (SMS pumping): the range is blocked a while."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("range", retry_after_seconds)


class CodeCapReached(SelfserveError):
    """This person has had as many new codes as a cap allows today (code farming)."""

    def __init__(self, cap: str) -> None:
        super().__init__(f"new-code cap reached: {cap}")
        self.cap = cap


class ChallengeFailed(SelfserveError):
    """The landing form's bot challenge (ALTCHA) was missing, wrong, expired or replayed."""


class ScreenScanNeeded(SelfserveError):
    """A screen-only campaign opened without a fresh token from the screen's QR code."""


class VerificationError(SelfserveError):
    """A one-time code was not accepted."""


class VerificationMissing(VerificationError):
    """There is no code waiting for this visitor (new browser, or it was used up)."""


class VerificationFailed(VerificationError):
    """The code did not match; `attempts_left` more guesses are allowed."""

    def __init__(self, attempts_left: int) -> None:
        super().__init__(f"wrong code, {attempts_left} attempt(s) left")
        self.attempts_left = attempts_left


class VerificationExpired(VerificationError):
    """The code is older than its lifetime; a new one must be requested."""


class VerificationLocked(VerificationError):
    """Too many wrong guesses killed the code; a new one must be requested."""


class WarmUpRefused(SelfserveError):
    """A warm-up cannot run for this campaign (dry run, not a coupon campaign, bad share)."""


class SecondFactorError(SelfserveError):
    """A second factor (authenticator app, passkey) could not be enrolled, used or removed."""


class SingleSignOnError(SelfserveError):
    """An identity provider's answer cannot log anyone in (no verified email, wrong issuer)."""
