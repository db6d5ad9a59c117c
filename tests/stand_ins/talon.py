"""A Talon.One CEP stand-in: the Third-party API's customer-engagement endpoints over a socket.

Written from Talon.One's public contract, not from the app's client; tests/stand_ins/README.md
lists what it does and the Talon.One documentation each behaviour follows. It checks the
headers every call needs, creates or retrieves coupons by identifier (a dry run retrieves but
never stores), echoes the coupon's optional parameters, keeps loyalty ledgers of known profiles
only, answers Talon.One's error bodies, and can be scripted to be slow, down, or to answer
anything once.

Requests run concurrently, as on a real service: there is no lock around a request. Creating
the coupon for an identifier is one atomic compare-and-set (`dict.setdefault`), so two racing
requests for one identifier get the same coupon, as Talon.One's idempotency promises; making
sure the app asks only once (and stores one code) is the app's job, not the stand-in's.
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
DEFAULT_START_DATE = "2026-01-01T00:00:00.000000+02:00"
DEFAULT_EXPIRY_DATE = "2026-12-31T23:59:59.000000+02:00"
COUPON_PATH = "/customer_engagement/coupon"
REFERRAL_PATH = "/customer_engagement/referral"


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
    """The WSGI app. Safe to call from many threads; read `requests` and `coupons` from tests.

    `coupons` holds what a real Talon.One would have stored (never a dry run's coupon);
    `points` the loyalty ledgers of known profiles, `(program id, profile id) -> balance`.
    """

    def __init__(self, budget_per_minute: int | None = None, window_seconds: float = 60.0) -> None:
        self.requests: list[RecordedRequest] = []
        self.coupons: dict[tuple[int, int, str], dict[str, Any]] = {}
        # Referral codes created (never a dry run's), by code. Each call creates a new one:
        # the endpoint has no identifier, so remembering an advocate's code is the caller's job.
        self.referrals: dict[str, dict[str, Any]] = {}
        self.points: dict[tuple[int, str], float] = {}
        self.profiles: set[str] = set()
        self.delay_seconds = 0.0
        self.down = False
        self.budget_per_minute = budget_per_minute
        self.window_seconds = window_seconds  # Talon.One's is a minute; tests shorten it
        self.rate_limited_answers = 0
        # Tests set a threading.Barrier here to prove coupon requests run side by side: each new
        # coupon waits, after looking its identifier up and before storing, for the others (a
        # stand-in serialising its requests would never get there).
        self.coupon_rendezvous: threading.Barrier | None = None
        self._scripted: deque[ScriptedAnswer] = deque()
        self._window: deque[float] = deque()
        self._ids = itertools.count(20190408)  # next() on a count is atomic in CPython
        # Only the rate window and the ledgers' read-modify-write are locked, never a request.
        self._window_lock = threading.Lock()
        self._ledger_lock = threading.Lock()

    def answer_next(
        self,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay_seconds: float = 0.0,
    ) -> None:
        """Give this answer to the next request (a queue: call several times for several)."""
        self._scripted.append(ScriptedAnswer(status, body, headers or {}, delay_seconds))

    def add_profile(
        self, profile_id: str, program_id: int | None = None, balance: float = 0
    ) -> None:
        """A customer profile Talon.One knows, with a ledger in `program_id` if given."""
        self.profiles.add(profile_id)
        if program_id is not None:
            with self._ledger_lock:
                self.points[(program_id, profile_id)] = balance

    def coupon_requests(self) -> list[RecordedRequest]:
        """The coupon calls received so far."""
        return [r for r in self.requests if r.path == COUPON_PATH]

    def referral_requests(self) -> list[RecordedRequest]:
        """The referral calls received so far."""
        return [r for r in self.requests if r.path == REFERRAL_PATH]

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
        self.requests.append(recorded)  # list.append is atomic
        try:
            scripted: ScriptedAnswer | None = self._scripted.popleft()
        except IndexError:
            scripted = None
        if scripted is not None:
            time.sleep(scripted.delay_seconds)
            return _json(scripted.status, scripted.body, scripted.headers)
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        refused = self._refusal(request)
        if refused is not None:
            return refused
        dry_run = request.headers.get("X-DRY-RUN", "false").strip().lower() == "true"
        if request.path == COUPON_PATH and request.method == "GET":
            return self._coupon(request, dry_run)
        if request.path == REFERRAL_PATH and request.method == "GET":
            return self._referral(request, dry_run)
        if request.path == "/customer_engagement/loyalty" and request.method == "GET":
            return self._loyalty(request)
        if request.path == "/customer_engagement/add_loyalty_points" and request.method == "POST":
            return self._add_points(body, dry_run)
        return _error(404, "Not found")

    def _refusal(self, request: Request) -> Response | None:
        """Talon.One's answers before it looks at the request: down, over budget, headers."""
        if self.down:
            return _error(503, "Service Unavailable")
        if self.budget_per_minute is not None and not self._within_budget():
            return _error(429, "Too many requests", {"Retry-After": "5"})
        if request.headers.get("Authorization") != f"ApiKey-v1 {API_KEY}":
            return _error(401, "Missing Session Token")
        if not request.headers.get("destination-hostname"):
            return _error(400, "No Deployment URL specified")
        if not request.headers.get("customer-engagement-platform-name"):
            return _error(400, "Missing customer-engagement-platform-name header")
        return None

    def _within_budget(self) -> bool:
        now = time.monotonic()
        with self._window_lock:
            while self._window and now - self._window[0] >= self.window_seconds:
                self._window.popleft()
            if len(self._window) >= (self.budget_per_minute or 0):
                self.rate_limited_answers += 1
                return False
            self._window.append(now)
            return True

    def _coupon(self, request: Request, dry_run: bool) -> Response:
        args = request.args
        try:
            application_id = int(args["applicationId"])
            campaign_id = int(args["campaignId"])
            args["externalCampaignId"]  # noqa: B018 - required by the contract
            usage_limit = int(args.get("usageLimit", 1))
        except (KeyError, ValueError):
            return _error(400, "applicationId, campaignId and externalCampaignId are required")
        if usage_limit < 0:
            return _error(400, "usageLimit must be 0 (unlimited) or more")
        if application_id == 404 or campaign_id == 404:
            return _error(404, "Application or campaign not found")
        identifier = args.get("identifier") or uuid.uuid4().hex
        key = (application_id, campaign_id, identifier)
        stored = self.coupons.get(key)
        if stored is not None:  # an identifier seen before: its coupon, nothing created
            return _json(200, stored)
        candidate = {
            "ID": next(self._ids),
            "ApplicationID": application_id,
            "CampaignID": campaign_id,
            "Value": "T1-" + secrets.token_hex(4).upper(),
            "StartDate": args.get("startDate") or DEFAULT_START_DATE,
            "ExpiryDate": args.get("expiryDate") or DEFAULT_EXPIRY_DATE,
            "RecipientIntegrationID": args.get("recipientIntegrationId", ""),
            "UsageLimit": usage_limit,
            "Attributes": _attributes(args),
        }
        if dry_run:  # X-DRY-RUN: true answers as usual and persists nothing
            return _json(200, candidate)
        if self.coupon_rendezvous is not None:  # every racer has looked and found nothing
            try:
                self.coupon_rendezvous.wait()
            except threading.BrokenBarrierError:
                return _error(500, "coupon requests were not concurrent")
        # Atomic compare-and-set: of two racing requests one stores, both answer its coupon.
        return _json(200, self.coupons.setdefault(key, candidate))

    def _referral(self, request: Request, dry_run: bool) -> Response:
        args = request.args
        try:
            campaign_id = int(args["campaignId"])
            advocate = args["advocateProfileIntegrationId"]
            usage_limit = int(args.get("usageLimit", 1))
        except (KeyError, ValueError):
            return _error(400, "campaignId and advocateProfileIntegrationId are required")
        if not advocate:
            return _error(400, "advocateProfileIntegrationId is required")
        if campaign_id == 404:
            return _error(404, "Campaign not found")
        referral = {
            "id": next(self._ids),
            "created": DEFAULT_START_DATE,
            "startDate": args.get("startDate") or DEFAULT_START_DATE,
            "expiryDate": args.get("expiryDate") or DEFAULT_EXPIRY_DATE,
            "usageLimit": usage_limit,
            "campaignId": campaign_id,
            "advocateProfileIntegrationId": advocate,
            "friendProfileIntegrationId": args.get("friendProfileIntegrationId", ""),
            "attributes": _attributes(args),
            "importId": None,
            "code": secrets.token_hex(2).upper() + "-" + secrets.token_hex(2).upper(),
            "usageCounter": 0,
            "batchId": None,
        }
        if not dry_run:
            self.referrals[referral["code"]] = referral
        return _json(201, referral)

    def _loyalty(self, request: Request) -> Response:
        try:
            program = int(request.args["loyaltyProgramId"])
            profile = request.args["profileIntegrationId"]
        except (KeyError, ValueError):
            return _error(400, "profileIntegrationId and loyaltyProgramId are required")
        balance = self.points.get((program, profile))
        if balance is None and profile not in self.profiles:
            return _error(404, "Customer profile not found")
        return _json(
            200,
            {
                "id": program,
                "title": "My loyalty program",
                "name": "myloyaltyprogram",
                "ledger": {
                    "currentBalance": balance or 0,
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

    def _add_points(self, body: Any, dry_run: bool) -> Response:
        if not isinstance(body, dict) or not {
            "loyaltyProgramId",
            "profileIntegrationId",
            "points",
        } <= set(body):
            return _error(400, "loyaltyProgramId, profileIntegrationId and points are required")
        if dry_run:
            return Response(status=204)
        profile = str(body["profileIntegrationId"])
        key = (int(body["loyaltyProgramId"]), profile)
        with self._ledger_lock:  # a profile is created implicitly by its first points
            self.profiles.add(profile)
            self.points[key] = self.points.get(key, 0) + float(body["points"])
        return Response(status=204)


def _attributes(args: Any) -> dict[str, Any]:
    """Custom attributes: one `.name` (or `_name`) query parameter each, typed as JSON reads
    them; a quoted value stays a string ("123" is the string 123, 123 the number)."""
    attributes: dict[str, Any] = {}
    for name, value in args.items():
        if name[:1] not in (".", "_") or len(name) < 2:
            continue
        try:
            attributes[name[1:]] = json.loads(value)
        except ValueError:
            attributes[name[1:]] = value
    return attributes


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    text = body if isinstance(body, str) else json.dumps(body)
    return Response(text, status=status, headers=headers or {}, mimetype="application/json")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Talon.One's error body: {"StatusCode", "Error", "RequestUUID"}."""
    return _json(
        status, {"StatusCode": status, "Error": message, "RequestUUID": str(uuid.uuid4())}, headers
    )
