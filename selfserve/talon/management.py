"""Talon.One's Management API, the one call the redemption sync needs: export_effects.

`GET /v1/applications/{applicationId}/export_effects` (query `campaignId`, `createdAfter`,
`createdBefore`, `dateFormat`) answers a CSV of the effects the Application's rules
triggered, one row each: `applicationid`, `campaignid`, `couponid`, `created`, `event_type`,
`eventid`, `name`, `profileintegrationid`, `props` (the effect's properties as JSON),
`ruleindex`, `rulesetid`, `sessionid`, `profileid`, `sessionintegrationid`,
`total_revenue`, `store_integration_id`. Auth: `Authorization: ManagementKey-v1 <key>`,
a key Talon.One issues to a service account for chosen endpoints. Talon.One allows 3
requests per second per endpoint: this client paces itself under that, and waits out a 429
(its Retry-After) or a 5xx with jittered backoff. Errors become domain exceptions here.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from selfserve.errors import TalonRateLimited, TalonUnavailable
from selfserve.talon.client import _error_for, _rfc3339

log = logging.getLogger(__name__)

COUPON_EFFECTS = ("acceptCoupon", "rollbackCoupon")
EXPORT_EFFECTS_PATH = "/v1/applications/{application_id}/export_effects"


@dataclass(frozen=True)
class CouponEffect:
    """One `acceptCoupon` or `rollbackCoupon` row of an effects export."""

    name: str
    code: str
    created: datetime
    campaign_id: int | None
    coupon_id: int | None
    profile_integration_id: str
    session_integration_id: str
    event_type: str
    total_revenue: Decimal
    store_integration_id: str


class ManagementClient:
    """Reads effects exports with a Management API key, paced and patient.

    `requests_per_second` stays under Talon.One's 3 per endpoint; `max_attempts` bounds how
    often one export is asked for again after 429s, 5xx or no answer.
    """

    def __init__(
        self,
        base_url: str,
        management_key: str,
        http: httpx.Client,
        *,
        requests_per_second: float = 2.0,
        max_attempts: int = 8,
        backoff_base_seconds: float = 1.0,
        backoff_max_seconds: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {
            "Authorization": f"ManagementKey-v1 {management_key}",
            "Accept": "application/csv",
        }
        self._http = http
        self._interval = 1.0 / requests_per_second
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base_seconds
        self._backoff_max = backoff_max_seconds
        self._sleep = sleep
        self._jitter = jitter
        self._next_request_at = 0.0
        self._pace_lock = threading.Lock()
        self.requests = 0  # sent, retries included: the sync's summary line reports it

    def coupon_effects(
        self,
        application_id: int,
        *,
        campaign_id: int | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> list[CouponEffect]:
        """The acceptCoupon and rollbackCoupon effects of one export, oldest first.

        Raises TalonRejected (400/401/404: key, application or parameters wrong) or
        TalonUnavailable (still 429/5xx/no answer after every attempt).
        """
        params: dict[str, str | int] = {"dateFormat": "ISO8601"}
        if campaign_id is not None:
            params["campaignId"] = campaign_id
        if created_after is not None:
            params["createdAfter"] = _rfc3339(created_after)
        if created_before is not None:
            params["createdBefore"] = _rfc3339(created_before)
        path = EXPORT_EFFECTS_PATH.format(application_id=application_id)
        text = self._get_csv(path, params).lstrip("\ufeff")  # a spreadsheet's byte-order mark
        rows = (
            {_column(name): value for name, value in row.items()}
            for row in csv.DictReader(io.StringIO(text))
        )
        effects = [effect for row in rows if (effect := _effect(row))]
        return sorted(effects, key=lambda effect: effect.created)

    def _get_csv(self, path: str, params: dict[str, str | int]) -> str:
        """The CSV body of a 200, after waiting out 429s and 5xx; raises as `coupon_effects`."""
        for attempt in range(1, self._max_attempts + 1):
            self._pace()
            self.requests += 1
            try:
                response = self._http.get(
                    self._base_url + path, params=params, headers=self._headers
                )
            except httpx.HTTPError as error:
                failure: TalonUnavailable = TalonUnavailable(
                    f"Talon.One unreachable ({type(error).__name__})"
                )
            else:
                if response.status_code == 200:
                    return response.text
                error_for = _error_for(response)
                if not isinstance(error_for, TalonUnavailable):
                    raise error_for  # 400/401/404: retrying will not fix it
                failure = error_for
            if attempt == self._max_attempts:
                raise failure
            wait = self._wait_after(failure, attempt)
            log.warning(
                "talon_management_retry",
                extra={"path": path, "reason": str(failure), "wait_seconds": round(wait, 2)},
            )
            self._sleep(wait)
        raise TalonUnavailable("no attempts")  # pragma: no cover - the loop returns or raises

    def _wait_after(self, failure: TalonUnavailable, attempt: int) -> float:
        """Retry-After (plus a little jitter) when Talon.One names it, else jittered backoff."""
        if failure.retry_after_seconds is not None:
            return failure.retry_after_seconds + self._interval * self._jitter()
        ceiling = min(self._backoff_max, self._backoff_base * 2 ** (attempt - 1))
        if isinstance(failure, TalonRateLimited):
            ceiling = max(ceiling, self._interval)
        return ceiling / 2 + ceiling / 2 * self._jitter()

    def _pace(self) -> None:
        """Wait until this client may send again (its requests per second)."""
        with self._pace_lock:
            now = time.monotonic()
            wait = self._next_request_at - now
            self._next_request_at = max(now, self._next_request_at) + self._interval
        if wait > 0:
            self._sleep(wait)

    def close(self) -> None:
        """Release the connections."""
        self._http.close()


def _effect(row: dict[str, Any]) -> CouponEffect | None:
    """A coupon effect of one CSV row; None for other effects and rows we cannot read."""
    name = (row.get("name") or "").strip()
    if name not in COUPON_EFFECTS:
        return None
    code = _code_of(row.get("props") or "")
    created = _time(row.get("created") or "")
    if not code or created is None:
        log.warning("talon_effect_unreadable", extra={"effect": name})
        return None
    return CouponEffect(
        name=name,
        code=code,
        created=created,
        campaign_id=_int(row.get("campaignid")),
        coupon_id=_int(row.get("couponid")),
        profile_integration_id=(row.get("profileintegrationid") or "").strip(),
        session_integration_id=(row.get("sessionintegrationid") or "").strip(),
        event_type=(row.get("event_type") or "").strip(),
        total_revenue=_money(row.get("total_revenue")),
        store_integration_id=(row.get("store_integration_id") or "").strip(),
    )


def _column(name: str | None) -> str:
    """A header as the reference spells it (lower case), whatever its case or spaces."""
    return (name or "").strip().lower()


def _code_of(props: str) -> str:
    """The coupon code of an effect's props: `{"value": "<code>"}` (a bare code is read as
    one too: it is only ever matched against codes we issued)."""
    try:
        parsed = json.loads(props)
    except ValueError:
        bare = props.strip()
        return bare if bare and not any(mark in bare for mark in '{}[]:" ') else ""
    if isinstance(parsed, str):
        return parsed.strip()
    if not isinstance(parsed, dict):
        return ""
    return str(parsed.get("value") or "").strip()


def _time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text not in (None, "") else None
    except ValueError:
        return None


def _money(text: str | None) -> Decimal:
    try:
        value = Decimal((text or "0").strip() or "0")
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() else Decimal(0)
