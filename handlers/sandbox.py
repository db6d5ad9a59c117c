"""The built-in Talon.One sandbox: a small WSGI app speaking the CEP contract.

With no TALON_API_KEY the app's real TalonClient talks to this app (through httpx's WSGI
transport), so the sandbox exercises the very client code production runs: same paths,
headers, query parameters, answers and error bodies. Codes are derived from the identifier,
so the same identifier always gets the same coupon, across restarts and processes.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request

from selfserve.ops import SANDBOX_TALON_KEY

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud at tills


def create_talon_sandbox() -> Flask:
    """A Flask app answering /customer_engagement/* like Talon.One does."""
    sandbox = Flask("talon_sandbox")
    ledger = _PointsLedger()
    sandbox.before_request(_check_headers)
    sandbox.get("/customer_engagement/coupon")(coupon)
    sandbox.get("/customer_engagement/referral")(referral)
    sandbox.get("/customer_engagement/loyalty")(ledger.loyalty)
    sandbox.post("/customer_engagement/add_loyalty_points")(ledger.add_points)
    return sandbox


def _error(status: int, message: str) -> Response:
    response = jsonify({"StatusCode": status, "Error": message, "RequestUUID": str(uuid.uuid4())})
    response.status_code = status
    return response


def _check_headers() -> Response | None:
    """Refuse a call without the API key and CEP headers, as Talon.One does."""
    authorization = request.headers.get("Authorization", "")
    if not authorization:
        return _error(401, "Missing Session Token")
    if authorization != f"ApiKey-v1 {SANDBOX_TALON_KEY}":
        return _error(401, "Invalid API key")
    if not request.headers.get("destination-hostname"):
        return _error(400, "No Deployment URL specified")
    if not request.headers.get("customer-engagement-platform-name"):
        return _error(400, "Missing customer-engagement-platform-name header")
    return None


def coupon() -> Response | tuple[Response, int]:
    """GET /customer_engagement/coupon: the identifier's coupon, the same one every time."""
    args = request.args
    missing = [
        name for name in ("applicationId", "campaignId", "externalCampaignId") if not args.get(name)
    ]
    if missing:
        return _error(400, f"Missing required parameter(s): {', '.join(missing)}")
    try:
        application_id = int(args["applicationId"])
        campaign_id = int(args["campaignId"])
    except ValueError:
        return _error(400, "applicationId and campaignId must be integers")
    identifier = args.get("identifier") or uuid.uuid4().hex
    seed = hashlib.sha256(f"{application_id}:{campaign_id}:{identifier}".encode()).digest()
    code = _code_from(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return jsonify(
        {
            "ID": int.from_bytes(seed[:4], "big") >> 1,
            "ApplicationID": application_id,
            "CampaignID": campaign_id,
            "Value": code,
            "StartDate": start.isoformat(),
            "ExpiryDate": (datetime.now(UTC) + timedelta(days=30))
            .replace(hour=23, minute=59, second=59, microsecond=0)
            .isoformat(),
            "RecipientIntegrationID": args.get("recipientIntegrationId", ""),
            "UsageLimit": int(args.get("usageLimit", 1) or 1),
            "Attributes": {},
        }
    )


def referral() -> Response | tuple[Response, int]:
    """GET /customer_engagement/referral: a new referral code for the advocate each call
    (Talon.One keeps no identifier for referrals: remembering the code is the caller's job)."""
    args = request.args
    advocate = args.get("advocateProfileIntegrationId", "")
    if not args.get("campaignId") or not advocate:
        return _error(400, "campaignId and advocateProfileIntegrationId are required")
    try:
        campaign_id = int(args["campaignId"])
        usage_limit = int(args.get("usageLimit", 1) or 1)
    except ValueError:
        return _error(400, "campaignId and usageLimit must be integers")
    seed = hashlib.sha256(uuid.uuid4().bytes).digest()
    letters = "".join(_ALPHABET[b % len(_ALPHABET)] for b in seed[:8])
    start = datetime.now(UTC).replace(microsecond=0)
    return jsonify(
        {
            "id": int.from_bytes(seed[:4], "big") >> 1,
            "campaignId": campaign_id,
            "advocateProfileIntegrationId": advocate,
            "friendProfileIntegrationId": args.get("friendProfileIntegrationId", ""),
            "code": f"{letters[:4]}-{letters[4:]}",
            "startDate": args.get("startDate") or start.isoformat(),
            "expiryDate": args.get("expiryDate") or (start + timedelta(days=90)).isoformat(),
            "usageLimit": usage_limit,
            "usageCounter": 0,
        }
    ), 201


class _PointsLedger:
    """Loyalty balances the sandbox has been told about, per (programme, profile).

    Shared by the app's request threads, so every read and write holds the lock.
    """

    def __init__(self) -> None:
        self.points: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()

    def loyalty(self) -> Response:
        """GET /customer_engagement/loyalty: the profile's balance and tier."""
        profile = request.args.get("profileIntegrationId", "")
        program = request.args.get("loyaltyProgramId", "")
        if not profile or not program.isdigit():
            return _error(400, "profileIntegrationId and loyaltyProgramId are required")
        with self.lock:
            balance = self.points.get((program, profile), _starting_balance(program, profile))
        return jsonify(
            {
                "id": int(program),
                "title": "Sandbox rewards",
                "name": "sandboxrewards",
                "ledger": {
                    "currentBalance": balance,
                    "pendingBalance": 0,
                    "expiredBalance": 0,
                    "spentBalance": 0,
                    "tentativeCurrentBalance": balance,
                    "pointsToNextTier": max(0, 500 - balance),
                    "currentTier": {"id": 1, "name": "silver" if balance >= 100 else "bronze"},
                },
                "subLedgers": {},
            }
        )

    def add_points(self) -> Response | tuple[str, int]:
        """POST /customer_engagement/add_loyalty_points: add to the profile's balance."""
        body: dict[str, Any] = request.get_json(silent=True) or {}
        profile = str(body.get("profileIntegrationId") or "")
        program = body.get("loyaltyProgramId")
        amount = body.get("points")
        if not profile or not isinstance(program, int) or not isinstance(amount, int | float):
            return _error(400, "loyaltyProgramId, profileIntegrationId and points are required")
        key = (str(program), profile)
        with self.lock:
            self.points[key] = self.points.get(key, _starting_balance(*key)) + amount
        return "", 204


def _code_from(seed: bytes) -> str:
    letters = "".join(_ALPHABET[b % len(_ALPHABET)] for b in seed[:8])
    return f"SBX-{letters[:4]}-{letters[4:]}"


def _starting_balance(program: str, profile: str) -> float:
    return float(hashlib.sha256(f"{program}:{profile}".encode()).digest()[0] % 200)
