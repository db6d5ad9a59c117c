"""A Talon.One Management API stand-in: `GET /v1/applications/{id}/export_effects` as CSV.

Written from Talon.One's Management API reference (see tests/stand_ins/README.md), not from
the app's client. It checks `Authorization: ManagementKey-v1 <key>` (401 with Talon.One's
error body otherwise), answers 429 to a fourth request within one second (Talon.One allows 3
requests per second per endpoint; `every_other_429` answers 429 to every other request
instead), filters by `campaignId`, `createdAfter` and `createdBefore` (RFC 3339), and writes
the effects in the export's columns. Tests record redemptions with `redeem` and `roll_back`.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

MANAGEMENT_KEY = "talon-management-test-key"
EXPORT_PATH = re.compile(r"^/v1/applications/(\d+)/export_effects$")
# The export's columns, in the order Talon.One's reference lists them.
COLUMNS = (
    "applicationid",
    "campaignid",
    "couponid",
    "created",
    "event_type",
    "eventid",
    "name",
    "profileintegrationid",
    "props",
    "ruleindex",
    "rulesetid",
    "sessionid",
    "profileid",
    "sessionintegrationid",
    "total_revenue",
    "store_integration_id",
)
REQUESTS_PER_SECOND = 3


@dataclass
class ExportRequest:
    """One request as the stand-in received it."""

    path: str
    args: dict[str, str]
    headers: Headers
    status: int = 0
    at: float = field(default_factory=time.monotonic)


class TalonManagementStandIn:
    """The WSGI app. Tests add effects, then read `requests` to see what the app asked."""

    def __init__(self) -> None:
        self.effects: list[dict[str, Any]] = []
        self.requests: list[ExportRequest] = []
        self.every_other_429 = False
        self.requests_per_second: int | None = REQUESTS_PER_SECOND  # None: no rate limit
        self.down_for = 0  # answer 503 to this many requests
        self.retry_after: str | None = None  # a Retry-After header on each 429, if set
        self._ids = itertools.count(1)
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()

    def add_effect(
        self,
        name: str,
        application_id: int,
        campaign_id: int,
        code: str,
        *,
        created: datetime | None = None,
        session: str = "",
        revenue: float | str = "",
        profile: str = "",
        event_type: str = "talon_session_updated",
        store: str = "",
    ) -> None:
        """Record one triggered effect, as Talon.One's rule engine would."""
        effect_id = next(self._ids)
        self.effects.append(
            {
                "applicationid": application_id,
                "campaignid": campaign_id,
                "couponid": 7000 + effect_id,
                "created": created or datetime.now(UTC),
                "event_type": event_type,
                "eventid": effect_id,
                "name": name,
                "profileintegrationid": profile,
                "props": json.dumps({"value": code}),
                "ruleindex": 0,
                "rulesetid": 11,
                "sessionid": 9000 + effect_id,
                "profileid": 500 + effect_id,
                "sessionintegrationid": session,
                "total_revenue": revenue,
                "store_integration_id": store,
            }
        )

    def redeem(self, application_id: int, campaign_id: int, code: str, **details: Any) -> str:
        """A till's closed session accepted `code` (its acceptCoupon); returns the session."""
        session = details.pop("session", None) or f"session-{uuid.uuid4().hex[:8]}"
        self.add_effect(
            "acceptCoupon", application_id, campaign_id, code, session=session, **details
        )
        return session

    def roll_back(
        self, application_id: int, campaign_id: int, code: str, session: str, **details: Any
    ) -> None:
        """The session was cancelled: its rollbackCoupon."""
        self.add_effect(
            "rollbackCoupon", application_id, campaign_id, code, session=session, **details
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        recorded = ExportRequest(request.path, dict(request.args), Headers(request.headers))
        self.requests.append(recorded)
        response = self._answer(request)
        recorded.status = response.status_code
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"ManagementKey-v1 {MANAGEMENT_KEY}":
            return _error(401, "Missing Session Token")
        if self._rate_limited():
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return _error(429, "Too many requests", headers)
        if self.down_for > 0:
            self.down_for -= 1
            return _error(503, "Service Unavailable")
        found = EXPORT_PATH.match(request.path)
        if found is None or request.method != "GET":
            return _error(404, "Not found")
        try:
            selected = self._select(int(found.group(1)), request.args)
        except ValueError as error:
            return _error(400, str(error))
        return Response(_csv(selected), mimetype="application/csv")

    def _rate_limited(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if self.every_other_429 and len(self.requests) % 2 == 1:
                return True
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if (
                self.requests_per_second is not None
                and len(self._recent) >= self.requests_per_second
            ):
                return True
            self._recent.append(now)
            return False

    def _select(self, application_id: int, args: Any) -> list[dict[str, Any]]:
        campaign = args.get("campaignId")
        after = _time(args.get("createdAfter"))
        before = _time(args.get("createdBefore"))
        return [
            effect
            for effect in list(self.effects)
            if effect["applicationid"] == application_id
            and (campaign is None or effect["campaignid"] == int(float(campaign)))
            and (after is None or effect["created"] >= after)
            and (before is None or effect["created"] < before)
        ]


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"an RFC 3339 timestamp needs its offset: {value!r}")
    return parsed


def _csv(effects: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for effect in effects:
        writer.writerow(
            {
                **effect,
                "created": effect["created"].astimezone(UTC).isoformat().replace("+00:00", "Z"),
            }
        )
    return buffer.getvalue()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Talon.One's error body: {"StatusCode", "Error", "RequestUUID"}."""
    body = {"StatusCode": status, "Error": message, "RequestUUID": str(uuid.uuid4())}
    return Response(
        json.dumps(body), status=status, headers=headers or {}, mimetype="application/json"
    )
