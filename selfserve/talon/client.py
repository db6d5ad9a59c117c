"""The Talon.One customer-engagement (CEP) client, exactly as docs/talon-one-cep.md describes.

Transport failures and error bodies become domain exceptions here; callers never see httpx.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from selfserve.errors import (
    TalonError,
    TalonRateLimited,
    TalonRejected,
    TalonTimedOut,
    TalonUnavailable,
)
from selfserve.talon.connections import HttpRequests

log = logging.getLogger(__name__)


class Budget(Protocol):
    """A shared allowance of Talon.One calls; `try_spend` is False when none is left now."""

    def try_spend(self) -> bool: ...

    def seconds_until_free(self) -> float: ...

    def hold(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class CouponRequest:
    """The query of GET /customer_engagement/coupon."""

    application_id: int
    campaign_id: int
    external_campaign_id: str
    identifier: str
    recipient_integration_id: str | None = None
    usage_limit: int | None = None
    # Custom coupon attributes (`.name=value` parameters), e.g. (("referralCode", "AB-12"),).
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ReferralRequest:
    """The query of GET /customer_engagement/referral: an advocate's referral code."""

    campaign_id: int
    advocate_profile_integration_id: str
    usage_limit: int | None = None
    start_date: datetime | None = None
    expiry_date: datetime | None = None


@dataclass(frozen=True)
class Referral:
    """A referral code as Talon.One gives it (lower-case keys, unlike the coupon answer)."""

    code: str
    talon_id: int | None
    starts_at: datetime | None
    expires_at: datetime | None
    usage_limit: int | None


@dataclass(frozen=True)
class Coupon:
    """A coupon as Talon.One gives it (its answer uses capitalised keys)."""

    code: str
    talon_id: int | None
    starts_at: datetime | None
    expires_at: datetime | None
    recipient_integration_id: str | None


@dataclass(frozen=True)
class LoyaltyBalance:
    """The parts of a loyalty ledger a reply can show."""

    program_title: str
    balance: float
    pending: float
    tier: str
    points_to_next_tier: float | None


@dataclass(frozen=True)
class TalonCall:
    """One finished call, for metrics: which endpoint, its status (0 = no answer), seconds."""

    endpoint: str
    status: int
    seconds: float


class TalonClient:
    """Calls Talon.One's CEP endpoints with the headers every call needs."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        deployment_host: str,
        platform_name: str,
        dry_run: bool,
        http: HttpRequests,
        budget: Budget | None = None,
        observe: Any = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {
            "Authorization": f"ApiKey-v1 {api_key}",
            "destination-hostname": deployment_host,
            "customer-engagement-platform-name": platform_name,
            "X-DRY-RUN": "true" if dry_run else "false",
            "Accept": "application/json",
        }
        self.dry_run = dry_run  # every call is a rehearsal: Talon.One stores nothing
        self._http = http
        self._budget = budget
        self._observe = observe
        self._timeout: httpx.Timeout | None = None
        if timeout_seconds is not None:
            self._timeout = httpx.Timeout(timeout_seconds, connect=min(2.0, timeout_seconds))

    def with_timeout(self, timeout_seconds: float) -> TalonClient:
        """The same client (connections, budget) with another per-call timeout.

        The webhook uses a short one so it answers fast; the worker uses the full one.
        """
        twin = copy.copy(self)
        twin._timeout = httpx.Timeout(timeout_seconds, connect=min(2.0, timeout_seconds))
        return twin

    def coupon(self, request: CouponRequest, *, dry_run: bool | None = None) -> Coupon:
        """Create the coupon for `request.identifier`, or retrieve the one made for it before."""
        params: dict[str, str | int] = {
            "applicationId": request.application_id,
            "campaignId": request.campaign_id,
            "externalCampaignId": request.external_campaign_id,
            "identifier": request.identifier,
        }
        if request.recipient_integration_id:
            params["recipientIntegrationId"] = request.recipient_integration_id
        if request.usage_limit is not None:
            params["usageLimit"] = request.usage_limit
        for name, value in request.attributes:
            params["." + name] = _attribute_value(value)
        body = self._call("GET", "/customer_engagement/coupon", params=params, dry_run=dry_run)
        try:
            return Coupon(
                code=str(body["Value"]),
                talon_id=body.get("ID"),
                starts_at=_parse_time(body.get("StartDate")),
                expires_at=_parse_time(body.get("ExpiryDate")),
                recipient_integration_id=body.get("RecipientIntegrationID") or None,
            )
        except (KeyError, TypeError, ValueError):
            raise TalonUnavailable("Talon.One's coupon answer had no Value") from None

    def referral(self, request: ReferralRequest, *, dry_run: bool | None = None) -> Referral:
        """Create (or retrieve) the advocate's referral code in a referral campaign."""
        params: dict[str, str | int] = {
            "campaignId": request.campaign_id,
            "advocateProfileIntegrationId": request.advocate_profile_integration_id,
        }
        if request.usage_limit is not None:
            params["usageLimit"] = request.usage_limit
        if request.start_date is not None:
            params["startDate"] = _rfc3339(request.start_date)
        if request.expiry_date is not None:
            params["expiryDate"] = _rfc3339(request.expiry_date)
        body = self._call("GET", "/customer_engagement/referral", params=params, dry_run=dry_run)
        try:
            limit = body.get("usageLimit")
            return Referral(
                code=str(body["code"]),
                talon_id=body.get("id"),
                starts_at=_parse_time(body.get("startDate")),
                expires_at=_parse_time(body.get("expiryDate")),
                usage_limit=int(limit) if limit is not None else None,
            )
        except (KeyError, TypeError, ValueError):
            raise TalonUnavailable("Talon.One's referral answer had no code") from None

    def loyalty(
        self,
        profile_integration_id: str,
        loyalty_program_id: int,
        *,
        dry_run: bool | None = None,
    ) -> LoyaltyBalance:
        """The customer's ledger in one profile-based loyalty program."""
        body = self._call(
            "GET",
            "/customer_engagement/loyalty",
            params={
                "profileIntegrationId": profile_integration_id,
                "loyaltyProgramId": loyalty_program_id,
            },
            dry_run=dry_run,
        )
        try:
            ledger = body["ledger"]
            tier = ledger.get("currentTier") or {}
            return LoyaltyBalance(
                program_title=str(body.get("title", "")),
                balance=float(ledger.get("currentBalance", 0)),
                pending=float(ledger.get("pendingBalance", 0)),
                tier=str(tier.get("name", "")),
                points_to_next_tier=ledger.get("pointsToNextTier"),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise TalonUnavailable("Talon.One's loyalty answer had no ledger") from None

    def add_loyalty_points(
        self, profile_integration_id: str, loyalty_program_id: int, points: float, name: str = ""
    ) -> None:
        """Give a customer points in a loyalty program (answers 204)."""
        payload: dict[str, Any] = {
            "loyaltyProgramId": loyalty_program_id,
            "profileIntegrationId": profile_integration_id,
            "points": points,
        }
        if name:
            payload["name"] = name
        self._call("POST", "/customer_engagement/add_loyalty_points", json=payload)

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        dry_run: bool | None = None,
    ) -> dict[str, Any]:
        """One request within our budget: Talon.One's JSON answer, or the Talon error it means."""
        self._spend_budget()
        headers = self._headers
        if dry_run is not None:
            headers = {**headers, "X-DRY-RUN": "true" if dry_run else "false"}
        response = self._send(method, path, params=params, json=json, headers=headers)
        return self._answer_of(response)

    def _spend_budget(self) -> None:
        """Take one call from the shared budget; raises TalonRateLimited when it is spent."""
        if self._budget is not None and not self._budget.try_spend():
            raise TalonRateLimited(
                "our Talon.One budget is spent for now",
                retry_after_seconds=self._budget.seconds_until_free(),
                own_budget=True,
            )

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None,
        json: dict[str, Any] | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        """Make the HTTP request and report it to the observer, answered or not."""
        started = time.perf_counter()
        status = 0
        try:
            response = self._http.request(
                method,
                self._base_url + path,
                params=params,
                json=json,
                headers=headers,
                timeout=self._timeout if self._timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            status = response.status_code
        except httpx.TimeoutException:
            raise TalonTimedOut("Talon.One timed out") from None
        except httpx.HTTPError as error:
            raise TalonUnavailable(f"Talon.One unreachable ({type(error).__name__})") from None
        finally:
            if self._observe is not None:
                self._observe(TalonCall(path, status, time.perf_counter() - started))
        return response

    def _answer_of(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object of a 200/201 ({} for 204); raises the error any other status means."""
        if response.status_code in (200, 201):
            try:
                answer = response.json()
            except ValueError:
                raise TalonUnavailable("Talon.One answered with unreadable JSON") from None
            if not isinstance(answer, dict):
                raise TalonUnavailable("Talon.One answered with unexpected JSON")
            return answer
        if response.status_code == 204:
            return {}
        error = _error_for(response)
        if isinstance(error, TalonRateLimited) and self._budget is not None:
            # Honour Retry-After in every process: nobody calls until it has passed.
            self._budget.hold(error.retry_after_seconds or 1.0)
        raise error


def _error_for(response: httpx.Response) -> Exception:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    error = str(body.get("Error") or body.get("message") or response.reason_phrase or "")
    request_uuid = str(body.get("RequestUUID") or "")
    if status == 429:
        return TalonRateLimited(
            "Talon.One answered 429 Too many requests", retry_after_seconds=_retry_after(response)
        )
    if status >= 500:
        return TalonUnavailable(
            f"Talon.One answered {status}", retry_after_seconds=_retry_after(response)
        )
    return TalonRejected(status, error, request_uuid)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _attribute_value(value: str) -> str:
    """A custom attribute's parameter: Talon.One reads values as JSON, so a string that looks
    like a number, a boolean or null is quoted to stay a string."""
    try:
        json.loads(value)
    except ValueError:
        return value
    return json.dumps(value)


def _rfc3339(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def log_talon_error(campaign_slug: str, error: TalonError) -> None:
    """One loud line for a configuration error (with Talon.One's RequestUUID), else a warning."""
    if isinstance(error, TalonRejected):
        log.error(
            "talon_rejected",
            extra={
                "campaign": campaign_slug,
                "status": error.status,
                "error": error.error,
                "request_uuid": error.request_uuid,
            },
        )
    else:
        log.warning("talon_unavailable", extra={"campaign": campaign_slug, "reason": str(error)})
