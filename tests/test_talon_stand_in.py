"""The Talon.One stand-in keeps Talon.One's contract (tests/stand_ins/README.md), so tests that
lean on it prove the app, not the stand-in. Spoken to over HTTP, as the app does."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.stand_ins.talon import API_KEY, DEPLOYMENT_HOST

HEADERS = {
    "Authorization": f"ApiKey-v1 {API_KEY}",
    "destination-hostname": DEPLOYMENT_HOST,
    "customer-engagement-platform-name": "selfserve-tests",
}
SPRING = {"applicationId": "12", "campaignId": "34", "externalCampaignId": "sms-spring"}


def coupon(stand_in, dry_run: bool = False, headers: dict | None = None, **params: str):
    sent = {**HEADERS, "X-DRY-RUN": "true" if dry_run else "false", **(headers or {})}
    sent = {name: value for name, value in sent.items() if value is not None}
    return httpx.get(
        stand_in.url + "/customer_engagement/coupon",
        params={**SPRING, **params},
        headers=sent,
        timeout=5,
    )


class TestDryRun:
    def test_a_dry_run_answers_a_coupon_and_stores_nothing(self, talon_stand_in):
        dry = coupon(talon_stand_in, dry_run=True, identifier="C1:34")
        assert dry.status_code == 200
        assert dry.json()["Value"].startswith("T1-")
        assert talon_stand_in.coupons == {}
        real = coupon(talon_stand_in, identifier="C1:34").json()
        assert real["Value"] != dry.json()["Value"]  # the dry run's coupon never existed
        assert real["ID"] != dry.json()["ID"]

    def test_a_dry_run_after_a_real_call_retrieves_the_stored_coupon(self, talon_stand_in):
        real = coupon(talon_stand_in, identifier="C2:34").json()
        assert coupon(talon_stand_in, dry_run=True, identifier="C2:34").json() == real
        assert list(talon_stand_in.coupons.values()) == [real]

    def test_the_same_identifier_retrieves_and_creates_nothing(self, talon_stand_in):
        first = coupon(talon_stand_in, identifier="C3:34").json()
        again = coupon(talon_stand_in, identifier="C3:34", usageLimit="5").json()
        assert again == first
        assert len(talon_stand_in.coupons) == 1


class TestHeaders:
    @pytest.mark.parametrize(
        ("missing", "status", "error"),
        [
            ("customer-engagement-platform-name", 400, "customer-engagement-platform-name"),
            ("destination-hostname", 400, "No Deployment URL specified"),
            ("Authorization", 401, "Missing Session Token"),
        ],
    )
    def test_a_missing_header_is_refused_with_talons_error_body(
        self, talon_stand_in, missing, status, error
    ):
        answer = coupon(talon_stand_in, headers={missing: None}, identifier="C4:34")
        assert answer.status_code == status
        body = answer.json()
        assert set(body) == {"StatusCode", "Error", "RequestUUID"}
        assert body["StatusCode"] == status
        assert error in body["Error"]
        assert talon_stand_in.coupons == {}


class TestEchoedParameters:
    def test_optional_parameters_come_back_in_the_coupon(self, talon_stand_in):
        answer = coupon(
            talon_stand_in,
            identifier="C5:34",
            usageLimit="0",
            recipientIntegrationId="URN-GV8294NV",
            startDate="2026-03-01T00:00:00Z",
            expiryDate="2026-03-31T23:59:59Z",
            **{".country": "DE", ".visits": "3", "_code": '"007"'},
        ).json()
        assert answer["UsageLimit"] == 0
        assert answer["RecipientIntegrationID"] == "URN-GV8294NV"
        assert answer["StartDate"] == "2026-03-01T00:00:00Z"
        assert answer["ExpiryDate"] == "2026-03-31T23:59:59Z"
        assert answer["Attributes"] == {"country": "DE", "visits": 3, "code": "007"}

    def test_without_them_the_coupon_has_talons_defaults(self, talon_stand_in):
        answer = coupon(talon_stand_in, identifier="C6:34").json()
        assert answer["UsageLimit"] == 1
        assert answer["RecipientIntegrationID"] == ""
        assert answer["Attributes"] == {}

    def test_a_negative_usage_limit_is_a_400(self, talon_stand_in):
        answer = coupon(talon_stand_in, identifier="C7:34", usageLimit="-1")
        assert answer.status_code == 400
        assert answer.json()["StatusCode"] == 400


class TestLoyalty:
    def ledger(self, stand_in, profile: str) -> httpx.Response:
        return httpx.get(
            stand_in.url + "/customer_engagement/loyalty",
            params={"profileIntegrationId": profile, "loyaltyProgramId": "7"},
            headers=HEADERS,
            timeout=5,
        )

    def test_an_unknown_profile_is_a_404(self, talon_stand_in):
        answer = self.ledger(talon_stand_in, "nobody")
        assert answer.status_code == 404
        assert answer.json()["StatusCode"] == 404

    def test_a_known_profile_has_its_balance(self, talon_stand_in):
        talon_stand_in.add_profile("C1", 7, balance=42)
        assert self.ledger(talon_stand_in, "C1").json()["ledger"]["currentBalance"] == 42

    def test_points_create_the_profile_and_a_dry_run_adds_none(self, talon_stand_in):
        def add(dry_run: bool) -> int:
            return httpx.post(
                talon_stand_in.url + "/customer_engagement/add_loyalty_points",
                json={"loyaltyProgramId": 7, "profileIntegrationId": "C2", "points": 25},
                headers={**HEADERS, "X-DRY-RUN": "true" if dry_run else "false"},
                timeout=5,
            ).status_code

        assert add(dry_run=True) == 204
        assert self.ledger(talon_stand_in, "C2").status_code == 404
        assert add(dry_run=False) == 204
        assert self.ledger(talon_stand_in, "C2").json()["ledger"]["currentBalance"] == 25


class TestConcurrency:
    def test_coupon_requests_run_side_by_side(self, talon_stand_in):
        """Each request waits at a barrier for the others: a stand-in that served one request
        at a time would break the barrier and answer 500."""
        talon_stand_in.coupon_rendezvous = threading.Barrier(3, timeout=5)
        statuses: list[int] = []

        def ask(n: int) -> None:
            statuses.append(coupon(talon_stand_in, identifier=f"P{n}:34").status_code)

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200, 200, 200]

    def test_racing_requests_for_one_identifier_get_one_coupon(self, talon_stand_in):
        talon_stand_in.coupon_rendezvous = threading.Barrier(4, timeout=5)
        codes: list[str] = []

        def ask() -> None:
            codes.append(coupon(talon_stand_in, identifier="RACE:34").json()["Value"])

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(codes) == 4
        assert len(set(codes)) == 1
        assert len(talon_stand_in.coupons) == 1
