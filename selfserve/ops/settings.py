"""Settings: one typed object, built once from the environment (and `.env`)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

import limits
import phonenumbers

from selfserve.errors import SettingsError
from selfserve.ops.outage_settings import validate_outages
from selfserve.ops.quiet_hours import QuietHours
from selfserve.ops.sign_in_settings import mfa_setting, validate_sign_in

SUPPORTED_LANGUAGES = ("en", "fr", "es", "de", "it", "nl", "pt")

SANDBOX_TALON_KEY = "sandbox"  # noqa: S105 - the built-in sandbox's well-known key, not a secret
SANDBOX_TALON_URL = "http://talon-sandbox.invalid"
SANDBOX_DEPLOYMENT_HOST = "sandbox.selfserve.invalid"


@dataclass(frozen=True)
class Settings:
    """Every knob of a deployment, one field per environment variable of design.md."""

    database_url: str = "sqlite:///instance/selfserve.db"
    secret_key: str = field(default="", repr=False)
    public_base_url: str = "http://127.0.0.1:5000"
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    # WhatsApp (docs/whatsapp.md): our WhatsApp sender (E.164; else the Messaging Service's),
    # and the number posters and pages link to with wa.me (default: the sender).
    twilio_whatsapp_from: str = ""
    whatsapp_number: str = ""
    talon_cep_url: str = "https://integration.talon.one"
    talon_api_key: str = field(default="", repr=False)
    talon_deployment_host: str = ""
    talon_platform_name: str = "selfserve"
    talon_dry_run: bool = False
    talon_rate_limit_per_minute: int = 500
    talon_timeout_seconds: float = 5.0
    talon_inline_timeout_seconds: float = 2.0
    talon_inline_pause_seconds: float = 1.0
    talon_rate_window_seconds: float = 60.0
    talon_retry_base_seconds: float = 2.0
    talon_retry_max_seconds: float = 30.0
    # Redemptions (docs/redemptions.md): the Management API, read by the redemption sync.
    talon_management_url: str = ""  # empty: https:// + TALON_DEPLOYMENT_HOST
    talon_management_key: str = field(default="", repr=False)  # empty: redemptions off
    redemptions_sync_minutes: int = 15
    worker_threads: int = 4
    worker_lease_seconds: float = 30.0
    redis_url: str = field(default="", repr=False)
    identity_secret: str = field(default="", repr=False)
    default_region: str = "AU"
    program_name: str = "selfserve"
    help_text: str = ""
    sms_languages: str = "en"  # comma-separated; the first is the default reply language
    webhook_deadline_seconds: float = 8.0
    log_json: bool = False
    trusted_proxy_hops: int = 0
    quiet_hours: str = "21:00-08:00"
    instance_path: str = "instance"
    # QR landing pages: who may be sent a one-time code, and how often (limits' notation).
    otp_allowed_regions: str = ""  # comma-separated regions; empty = DEFAULT_REGION's
    otp_limit_per_number: str = "5 per 10 minutes; 10 per day"
    otp_limit_per_ip: str = "20 per 10 minutes; 200 per day"
    # Code pages (/c/<token>): how many a visitor may open, and the wallets (unset = no button).
    code_page_limit_per_ip: str = "60 per minute; 600 per hour"
    apple_pass_type_id: str = ""
    apple_team_id: str = ""
    apple_pass_cert: str = ""  # PEM: the pass certificate and its private key
    apple_wwdr_cert: str = ""  # PEM: Apple's WWDR intermediate certificate
    google_wallet_issuer_id: str = ""
    google_wallet_key_file: str = ""  # a service-account JSON key (client_email, private_key)
    # SMS pumping walks through number ranges: a range is the number without its last digits.
    otp_range_digits: int = 2
    otp_limit_per_range: str = "10 per 10 minutes"
    otp_range_block: str = "1 hour"
    # Code farming: new codes one number may get per day, across all campaigns (0 = no cap).
    max_new_codes_per_number_per_day: int = 10
    # The landing form's bot challenge: "altcha" (proof of work) or "off". Empty: "altcha",
    # except on a local install (the SMS sandbox, or a plain-http PUBLIC_BASE_URL).
    landing_challenge: str = ""
    # Outages (docs/deploy.md): the database's bound on the webhook, the spool's reply, and
    # reconciliation with Twilio's Messages list.
    database_timeout_seconds: float = 2.0
    spooled_reply: str = "Got it! We'll text you back in a moment."
    reconcile_every_minutes: int = 10
    reconcile_max_age_minutes: int = 120
    # Console sign-in (docs/console-two-factor.md). MFA_REQUIRED empty: true on an https install.
    mfa_required: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_role_claim: str = ""  # CLAIM, or CLAIM:value=role,value=role
    oidc_only: bool = False
    # The console (docs/console-security.md): idle timeout, password breach check, audit trail.
    console_idle_minutes: int = 30
    password_breach_check: str = "off"  # noqa: S105 - "off" or "hibp" (Pwned Passwords)
    pwned_passwords_url: str = "https://api.pwnedpasswords.com"
    audit_retention_days: int = 400

    @property
    def sms_sandbox(self) -> bool:
        """True when no Twilio credentials are set: outbound SMS go to the sandbox outbox."""
        return not (self.twilio_account_sid and self.twilio_auth_token)

    @property
    def whatsapp_link_number(self) -> str:
        """The E.164 number wa.me links open a chat with; "" when WhatsApp is not set up."""
        return self.whatsapp_number or self.twilio_whatsapp_from

    @property
    def talon_sandbox(self) -> bool:
        """True when no Talon.One key is set: the app talks to its built-in sandbox."""
        return not self.talon_api_key

    @property
    def webhook_auth_token(self) -> str:
        """The token that signs Twilio webhooks: Twilio's own, or the sandbox's generated one."""
        if self.twilio_auth_token:
            return self.twilio_auth_token
        return read_or_create_secret(Path(self.instance_path) / "sandbox_twilio_auth_token")

    @property
    def effective_help_text(self) -> str:
        """The HELP answer (CTIA: program name, contact, rates, how to stop)."""
        if self.help_text:
            return self.help_text
        return (
            f"{self.program_name}: text a keyword to get your offer. 1 msg per request. "
            "Msg&data rates may apply. Reply STOP to cancel."
        )

    @property
    def languages(self) -> tuple[str, ...]:
        """SMS_LANGUAGES as a tuple, the default (first) language first."""
        return tuple(part.strip().lower() for part in self.sms_languages.split(",") if part.strip())

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables; a bad value names its variable.

        Reads `.env` from the working directory first (real variables win over it). Secrets
        that are not set (SECRET_KEY, IDENTITY_SECRET) are generated once into the instance
        folder so they survive restarts.
        """
        if environ is None:
            from dotenv import dotenv_values

            environ = {
                **{k: v for k, v in dotenv_values(".env").items() if v is not None},
                **os.environ,
            }
        values: dict[str, object] = {}
        for spec in fields(cls):
            name = spec.name.upper()
            raw = environ.get(name)
            if raw is None or raw == "":
                continue
            values[spec.name] = _coerce(name, raw, spec.type)
        settings = cls(**values)  # type: ignore[arg-type]
        return settings.completed()

    def completed(self) -> Settings:
        """Fill generated secrets and validate; returns a new Settings."""
        instance = Path(self.instance_path)
        changes: dict[str, object] = {}
        if not self.secret_key:
            changes["secret_key"] = read_or_create_secret(instance / "secret_key")
        if not self.identity_secret:
            changes["identity_secret"] = read_or_create_secret(instance / "identity_secret")
        settings = replace_settings(self, **changes)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise SettingsError naming the first variable with an unusable value."""
        self._validate_web_and_sms()
        self._validate_talon_and_worker()
        self._validate_one_time_codes()
        validate_sign_in(self)
        validate_outages(self)
        self._validate_console()
        if not self.talon_sandbox and not self.talon_deployment_host:
            raise SettingsError(
                "TALON_DEPLOYMENT_HOST is required with TALON_API_KEY "
                "(your deployment, e.g. mycompany.europe-west1.talon.one)"
            )

    def _validate_web_and_sms(self) -> None:
        """The URLs, the region, the Twilio sender, the proxy hops and the quiet hours."""
        urls = ("public_base_url", "twilio_api_base_url", "talon_cep_url", "pwned_passwords_url")
        for name in (*urls, "talon_management_url"):
            if name == "talon_management_url" and not self.talon_management_url:
                continue
            parts = urlsplit(getattr(self, name))
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError(f"{name.upper()} must be an http(s) URL")
        if self.default_region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise SettingsError("DEFAULT_REGION must be a two-letter region code such as AU")
        if self.twilio_from_number and self.twilio_messaging_service_sid:
            raise SettingsError("set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID, not both")
        for name in ("twilio_whatsapp_from", "whatsapp_number"):
            value = getattr(self, name)
            if value and not (value.startswith("+") and value[1:].isdigit() and len(value) < 17):
                raise SettingsError(f"{name.upper()} must be an E.164 number such as +61480000000")
        if self.trusted_proxy_hops < 0:
            raise SettingsError("TRUSTED_PROXY_HOPS must be 0 (no proxy) or more")
        QuietHours.parse(self.quiet_hours)  # raises SettingsError naming QUIET_HOURS
        unknown = [name for name in self.languages if name not in SUPPORTED_LANGUAGES]
        if unknown or not self.languages:
            raise SettingsError(
                f"SMS_LANGUAGES: use some of {', '.join(SUPPORTED_LANGUAGES)} (comma-separated)"
            )

    def _validate_talon_and_worker(self) -> None:
        """Talon.One's rate limit and timeouts, and the worker's lease and threads."""
        if self.talon_rate_limit_per_minute < 1:
            raise SettingsError("TALON_RATE_LIMIT_PER_MINUTE must be at least 1")
        for name in (
            "talon_timeout_seconds",
            "talon_inline_timeout_seconds",
            "talon_rate_window_seconds",
            "talon_retry_base_seconds",
            "talon_retry_max_seconds",
            "worker_lease_seconds",
        ):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name.upper()} must be more than 0")
        if self.redemptions_sync_minutes < 1:
            raise SettingsError("REDEMPTIONS_SYNC_MINUTES must be at least 1")
        if self.talon_inline_pause_seconds < 0:
            raise SettingsError("TALON_INLINE_PAUSE_SECONDS must be 0 or more")
        if self.worker_lease_seconds <= self.talon_timeout_seconds:
            raise SettingsError(
                "WORKER_LEASE_SECONDS must be longer than TALON_TIMEOUT_SECONDS "
                "(a worker holds a job at least that long)"
            )
        if self.worker_threads < 1:
            raise SettingsError("WORKER_THREADS must be at least 1")

    def _validate_console(self) -> None:
        """The console's idle timeout, breach check and audit retention."""
        if self.console_idle_minutes < 1:
            raise SettingsError("CONSOLE_IDLE_MINUTES must be at least 1")
        if self.password_breach_check not in ("off", "hibp"):
            raise SettingsError("PASSWORD_BREACH_CHECK must be off or hibp")
        if self.audit_retention_days < 1:
            raise SettingsError("AUDIT_RETENTION_DAYS must be at least 1")

    def _validate_one_time_codes(self) -> None:
        """The regions that may get a one-time code, and the limits on sending them."""
        for region in self.otp_regions:
            if region not in phonenumbers.SUPPORTED_REGIONS:
                raise SettingsError(
                    f"OTP_ALLOWED_REGIONS: {region!r} is not a two-letter region code such as AU"
                )
        if not 0 <= self.otp_range_digits <= 6:
            raise SettingsError("OTP_RANGE_DIGITS must be between 0 (off) and 6")
        if self.max_new_codes_per_number_per_day < 0:
            raise SettingsError("MAX_NEW_CODES_PER_NUMBER_PER_DAY must be 0 (no cap) or more")
        if self.landing_challenge not in ("", "off", "altcha"):
            raise SettingsError("LANDING_CHALLENGE must be off or altcha")
        try:
            limits.parse(f"1 per {self.otp_range_block}")
        except ValueError:
            raise SettingsError("OTP_RANGE_BLOCK must be a duration such as '1 hour'") from None
        for name in ("otp_limit_per_number", "otp_limit_per_ip", "otp_limit_per_range"):
            try:
                limits.parse_many(getattr(self, name))
            except ValueError:
                raise SettingsError(
                    f"{name.upper()} must be rate limits such as '5 per 10 minutes; 10 per day'"
                ) from None

    @property
    def effective_landing_challenge(self) -> str:
        """LANDING_CHALLENGE, or its default: altcha in production; off on a local install
        (`make run`'s SMS sandbox, or PUBLIC_BASE_URL on plain http, which no public site
        uses: its session cookies would not even be Secure)."""
        local = self.sms_sandbox or not self.public_base_url.startswith("https://")
        return self.landing_challenge or ("off" if local else "altcha")

    @property
    def requires_mfa(self) -> bool:
        """MFA_REQUIRED, or its default: on when PUBLIC_BASE_URL is https (not under `make run`)."""
        return mfa_setting(self.mfa_required, self.public_base_url)

    @property
    def otp_range_block_seconds(self) -> int:
        """OTP_RANGE_BLOCK in seconds."""
        item = limits.parse(f"1 per {self.otp_range_block}")
        return int(item.get_expiry())

    @property
    def queue_path(self) -> Path:
        """The embedded task queue's SQLite file (used when REDIS_URL is unset)."""
        return Path(self.instance_path) / "queue.db"

    @property
    def spool_path(self) -> Path:
        """The folder of texts held while the database is away (ops/spool.py)."""
        return Path(self.instance_path) / "spool"

    @property
    def budget_path(self) -> Path:
        """The embedded Talon.One budget's SQLite file (used when REDIS_URL is unset)."""
        return Path(self.instance_path) / "talon_budget.db"

    @property
    def otp_regions(self) -> frozenset[str]:
        """Regions whose numbers may be sent a one-time code (stops SMS-pumping fraud)."""
        listed = {part.strip().upper() for part in self.otp_allowed_regions.split(",")}
        return frozenset(listed - {""}) or frozenset({self.default_region.upper()})

    @property
    def talon_base_url(self) -> str:
        """Where the Talon.One client points: the real CEP URL or the built-in sandbox."""
        return SANDBOX_TALON_URL if self.talon_sandbox else self.talon_cep_url.rstrip("/")

    @property
    def talon_management_base_url(self) -> str:
        """Where the Management API's `/v1/...` paths live: the deployment's own host."""
        if self.talon_management_url:
            return self.talon_management_url.rstrip("/")
        host = self.talon_deployment_host.rstrip("/")
        return host if "://" in host or not host else f"https://{host}"

    @property
    def redemptions_on(self) -> bool:
        """True when the redemption sync can run: a Management API key and somewhere to ask."""
        return bool(self.talon_management_key and self.talon_management_base_url)

    @property
    def talon_key(self) -> str:
        """The key sent as `Authorization: ApiKey-v1 …`."""
        return self.talon_api_key or SANDBOX_TALON_KEY

    @property
    def talon_destination_host(self) -> str:
        """The `destination-hostname` header value."""
        return self.talon_deployment_host or SANDBOX_DEPLOYMENT_HOST


def replace_settings(settings: Settings, **changes: object) -> Settings:
    """Return a copy of `settings` with some fields changed."""
    from dataclasses import replace

    return replace(settings, **changes)  # type: ignore[arg-type]


def read_or_create_secret(path: Path) -> str:
    """Read a generated secret from `path`, creating it (mode 0600) on first use."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its value
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value)
    return value


def _coerce(name: str, raw: str, annotation: object) -> object:
    text = raw.strip()
    kind = str(annotation)
    if kind == "bool":
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be true or false, not {raw!r}")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    return text
