"""A Talon.One CEP stand-in: the contract of docs/talon-one-cep.md over a real socket.

Written from the public contract, not from the app's client: it checks the headers every
call needs, creates or retrieves coupons by identifier, keeps loyalty ledgers, answers the
documented error bodies, and can be scripted to be slow, down, or to answer anything once.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

API_KEY = "talon-test-key"
DEPLOYMENT_HOST = "acme.europe-west1.talon.one"


@dataclass
class RecordedRequest:
    """One request as the stand-in received it."""

    method: str
    path: str
    args: dict[str, str]
    headers: Headers
    json: Any = None
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class ScriptedAnswer:
    """An answer to give instead of the normal one."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


class TalonStandIn:
    """The WSGI app. Thread-safe; read `requests` and `coupons` from tests."""

    def __init__(self, budget_per_minute: int | None = None, window_seconds: float = 60.0) -> None:
        self.requests: list[RecordedRequest] = []
        self.coupons: dict[tuple[int, int, str], dict[str, Any]] = {}
        self.points: dict[tuple[int, str], float] = {}
        self.delay_seconds = 0.0
        self.down = False
        self.budget_per_minute = budget_per_minute
        self.window_seconds = window_seconds  # Talon.One's is a minute; tests shorten it
        self.rate_limited_answers = 0
        self._scripted: deque[ScriptedAnswer] = deque()
        self._window: deque[float] = deque()
        self._ids = itertools.count(20190408)
        self._lock = threading.Lock()

    def answer_next(
        self,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay_seconds: float = 0.0,
    ) -> None:
        """Give this answer to the next request (a queue: call several times for several)."""
        self._scripted.append(ScriptedAnswer(status, body, headers or {}, delay_seconds))

    def coupon_requests(self) -> list[RecordedRequest]:
        """The coupon calls received so far."""
        return [r for r in self.requests if r.path == "/customer_engagement/coupon"]

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request."""
        return self.requests[-1]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._answer(request)
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        body = request.get_json(silent=True) if request.method == "POST" else None
        recorded = RecordedRequest(
            request.method, request.path, dict(request.args), Headers(request.headers), body
        )
        with self._lock:
            self.requests.append(recorded)
            scripted = self._scripted.popleft() if self._scripted else None
        if scripted is not None:
            time.sleep(scripted.delay_seconds)
            return _json(scripted.status, scripted.body, scripted.headers)
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        if self.down:
            return _error(503, "Service Unavailable")
        if self.budget_per_minute is not None and not self._within_budget():
            return _error(429, "Too many requests", {"Retry-After": "5"})
        if request.headers.get("Authorization") != f"ApiKey-v1 {API_KEY}":
            return _error(401, "Missing Session Token")
        if not request.headers.get("destination-hostname"):
            return _error(400, "No Deployment URL specified")
        if request.path == "/customer_engagement/coupon" and request.method == "GET":
            return self._coupon(request)
        if request.path == "/customer_engagement/loyalty" and request.method == "GET":
            return self._loyalty(request)
        if request.path == "/customer_engagement/add_loyalty_points" and request.method == "POST":
            return self._add_points(body)
        return _error(404, "Not found")

    def _within_budget(self) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._window and now - self._window[0] >= self.window_seconds:
                self._window.popleft()
            if len(self._window) >= (self.budget_per_minute or 0):
                self.rate_limited_answers += 1
                return False
            self._window.append(now)
            return True

    def _coupon(self, request: Request) -> Response:
        args = request.args
        try:
            application_id = int(args["applicationId"])
            campaign_id = int(args["campaignId"])
            args["externalCampaignId"]  # noqa: B018 - required by the contract
        except (KeyError, ValueError):
            return _error(400, "applicationId, campaignId and externalCampaignId are required")
        if application_id == 404 or campaign_id == 404:
            return _error(404, "Application or campaign not found")
        identifier = args.get("identifier") or uuid.uuid4().hex
        key = (application_id, campaign_id, identifier)
        with self._lock:
            coupon = self.coupons.get(key)
            if coupon is None:
                coupon = {
                    "ID": next(self._ids),
                    "ApplicationID": application_id,
                    "CampaignID": campaign_id,
                    "Value": "T1-" + secrets.token_hex(4).upper(),
                    "StartDate": "2026-01-01T00:00:00.000000+02:00",
                    "ExpiryDate": "2026-12-31T23:59:59.000000+02:00",
                    "RecipientIntegrationID": args.get("recipientIntegrationId", ""),
                    "UsageLimit": int(args.get("usageLimit", 1)),
                    "Attributes": {},
                }
                self.coupons[key] = coupon
        return _json(200, coupon)

    def _loyalty(self, request: Request) -> Response:
        try:
            program = int(request.args["loyaltyProgramId"])
            profile = request.args["profileIntegrationId"]
        except (KeyError, ValueError):
            return _error(400, "profileIntegrationId and loyaltyProgramId are required")
        balance = self.points.get((program, profile), 10.5)
        return _json(
            200,
            {
                "id": program,
                "title": "My loyalty program",
                "name": "myloyaltyprogram",
                "ledger": {
                    "currentBalance": balance,
                    "pendingBalance": 5.1,
                    "expiredBalance": 2,
                    "spentBalance": 0,
                    "tentativeCurrentBalance": 0,
                    "pointsToNextTier": 10,
                    "currentTier": {"id": 112345, "name": "silver-tier"},
                },
                "subLedgers": {},
            },
        )

    def _add_points(self, body: Any) -> Response:
        if not isinstance(body, dict) or not {
            "loyaltyProgramId",
            "profileIntegrationId",
            "points",
        } <= set(body):
            return _error(400, "loyaltyProgramId, profileIntegrationId and points are required")
        key = (int(body["loyaltyProgramId"]), str(body["profileIntegrationId"]))
        with self._lock:
            self.points[key] = self.points.get(key, 10.5) + float(body["points"])
        return Response(status=204)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    text = body if isinstance(body, str) else json.dumps(body)
    return Response(text, status=status, headers=headers or {}, mimetype="application/json")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(
        status, {"StatusCode": status, "Error": message, "RequestUUID": str(uuid.uuid4())}, headers
    )
