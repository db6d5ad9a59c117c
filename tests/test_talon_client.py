"""The Talon.One client against a stand-in speaking the CEP contract over a real socket."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from selfserve.errors import TalonRateLimited, TalonRejected, TalonUnavailable
from selfserve.talon import CouponRequest, OneConnectionTransports, TalonClient
from tests.stand_ins.server import DroppingServer, ServedApp, free_port
from tests.stand_ins.talon import API_KEY, DEPLOYMENT_HOST, TalonStandIn

SPRING_COUPON_REQUEST = CouponRequest(
    application_id=12,
    campaign_id=34,
    external_campaign_id="sms-spring",
    identifier="CUST-1:34",
    recipient_integration_id="CUST-1",
)


def client_for(url: str, timeout_seconds: float = 2.0, key: str = API_KEY) -> TalonClient:
    return TalonClient(
        base_url=url,
        api_key=key,
        deployment_host=DEPLOYMENT_HOST,
        platform_name="selfserve",
        dry_run=False,
        # What production sends through (selfserve/talon/connections.py).
        http=OneConnectionTransports(httpx.Timeout(timeout_seconds)),
    )


@pytest.fixture
def talon_client(talon_stand_in: TalonStandIn) -> TalonClient:
    return client_for(talon_stand_in.url)  # type: ignore[attr-defined]


def test_a_coupon_is_created_with_every_header_and_parameter(talon_stand_in, talon_client):
    coupon = talon_client.coupon(SPRING_COUPON_REQUEST)
    call = talon_stand_in.last_request
    assert call.method == "GET"
    assert call.path == "/customer_engagement/coupon"
    assert call.headers["Authorization"] == f"ApiKey-v1 {API_KEY}"
    assert call.headers["destination-hostname"] == DEPLOYMENT_HOST
    assert call.headers["customer-engagement-platform-name"] == "selfserve"
    assert call.headers["X-DRY-RUN"] == "false"
    assert call.args == {
        "applicationId": "12",
        "campaignId": "34",
        "externalCampaignId": "sms-spring",
        "identifier": "CUST-1:34",
        "recipientIntegrationId": "CUST-1",
    }
    stored = talon_stand_in.coupons[(12, 34, "CUST-1:34")]
    assert coupon.code == stored["Value"]
    assert coupon.talon_id == stored["ID"]
    assert coupon.expires_at == datetime(2026, 12, 31, 21, 59, 59, tzinfo=UTC)


def test_the_same_identifier_retrieves_the_same_coupon(talon_stand_in, talon_client):
    first = talon_client.coupon(SPRING_COUPON_REQUEST)
    second = talon_client.coupon(SPRING_COUPON_REQUEST)
    assert first.code == second.code
    assert len(talon_stand_in.coupons) == 1


def test_dry_run_is_sent_when_asked(talon_stand_in, talon_client):
    talon_client.coupon(SPRING_COUPON_REQUEST, dry_run=True)
    assert talon_stand_in.last_request.headers["X-DRY-RUN"] == "true"


def test_a_429_from_talon_becomes_rate_limited_with_its_retry_after(talon_stand_in, talon_client):
    talon_stand_in.answer_next(
        429,
        {"StatusCode": 429, "Error": "Too many requests", "RequestUUID": "u-429"},
        headers={"Retry-After": "7"},
    )
    with pytest.raises(TalonRateLimited) as raised:
        talon_client.coupon(SPRING_COUPON_REQUEST)
    assert raised.value.retry_after_seconds == 7
    assert talon_stand_in.last_request.headers["destination-hostname"] == DEPLOYMENT_HOST


def test_a_retry_after_given_as_a_date_is_understood(talon_stand_in, talon_client):
    talon_stand_in.answer_next(
        429,
        {"StatusCode": 429, "Error": "Too many requests"},
        headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
    )
    with pytest.raises(TalonRateLimited) as raised:
        talon_client.coupon(SPRING_COUPON_REQUEST)
    assert raised.value.retry_after_seconds == 0


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "No Deployment URL specified"),
        (401, "Missing Session Token"),
        (404, "Application not found"),
    ],
)
def test_configuration_errors_carry_status_error_and_request_uuid(
    talon_stand_in, talon_client, status, message
):
    talon_stand_in.answer_next(
        status, {"StatusCode": status, "Error": message, "RequestUUID": "1b2c3d"}
    )
    with pytest.raises(TalonRejected) as raised:
        talon_client.coupon(SPRING_COUPON_REQUEST)
    assert (raised.value.status, raised.value.error, raised.value.request_uuid) == (
        status,
        message,
        "1b2c3d",
    )


def test_a_wrong_key_is_rejected_by_talon_as_401(talon_stand_in):
    client = client_for(talon_stand_in.url, key="wrong")  # type: ignore[attr-defined]
    with pytest.raises(TalonRejected) as raised:
        client.coupon(SPRING_COUPON_REQUEST)
    assert raised.value.status == 401
    assert raised.value.request_uuid


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(talon_stand_in, talon_client, status):
    talon_stand_in.answer_next(status, "<html>gateway</html>")
    with pytest.raises(TalonUnavailable) as raised:
        talon_client.coupon(SPRING_COUPON_REQUEST)
    assert not isinstance(raised.value, TalonRejected)


def test_a_slow_talon_times_out_as_transient(talon_stand_in):
    talon_stand_in.answer_next(200, {"Value": "LATE"}, delay_seconds=1.0)
    client = client_for(talon_stand_in.url, timeout_seconds=0.2)  # type: ignore[attr-defined]
    with pytest.raises(TalonUnavailable, match="timed out"):
        client.coupon(SPRING_COUPON_REQUEST)


def test_a_dropped_connection_is_transient():
    server = DroppingServer()
    try:
        with pytest.raises(TalonUnavailable, match="unreachable"):
            client_for(server.url).coupon(SPRING_COUPON_REQUEST)
        assert server.connections >= 1
    finally:
        server.stop()


def test_a_refused_connection_is_transient():
    with pytest.raises(TalonUnavailable, match="unreachable"):
        client_for(f"http://127.0.0.1:{free_port()}").coupon(SPRING_COUPON_REQUEST)


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"ID": 5}'])
def test_an_unreadable_200_is_transient_not_a_crash(talon_stand_in, talon_client, body):
    talon_stand_in.answer_next(200, body)
    with pytest.raises(TalonUnavailable):
        talon_client.coupon(SPRING_COUPON_REQUEST)


def test_the_loyalty_ledger_is_read(talon_stand_in, talon_client):
    talon_stand_in.add_profile("CUST-1", 7, balance=10.5)
    balance = talon_client.loyalty("CUST-1", 7)
    assert talon_stand_in.last_request.args == {
        "profileIntegrationId": "CUST-1",
        "loyaltyProgramId": "7",
    }
    assert (balance.balance, balance.pending, balance.tier) == (10.5, 5.1, "silver-tier")


def test_loyalty_points_are_added_with_a_json_body(talon_stand_in, talon_client):
    talon_client.add_loyalty_points("CUST-1", 7, 50, name="joined")
    call = talon_stand_in.last_request
    assert (call.method, call.path) == ("POST", "/customer_engagement/add_loyalty_points")
    assert call.json == {
        "loyaltyProgramId": 7,
        "profileIntegrationId": "CUST-1",
        "points": 50,
        "name": "joined",
    }
    assert talon_stand_in.points[(7, "CUST-1")] == 50


def test_the_built_in_sandbox_speaks_the_same_contract():
    from handlers.sandbox import create_talon_sandbox
    from selfserve.ops import SANDBOX_TALON_KEY

    served = ServedApp(create_talon_sandbox())
    try:
        client = client_for(served.url, key=SANDBOX_TALON_KEY)
        first = client.coupon(SPRING_COUPON_REQUEST)
        assert first.code == client.coupon(SPRING_COUPON_REQUEST).code
        assert (
            first.code
            != client.coupon(CouponRequest(12, 34, "sms-spring", identifier="CUST-2:34")).code
        )
        with pytest.raises(TalonRejected) as raised:
            client_for(served.url, key="wrong").coupon(SPRING_COUPON_REQUEST)
        assert raised.value.status == 401
        no_host = httpx.get(
            served.url + "/customer_engagement/coupon",
            headers={"Authorization": f"ApiKey-v1 {SANDBOX_TALON_KEY}"},
        )
        assert no_host.status_code == 400
        assert no_host.json()["Error"] == "No Deployment URL specified"
        assert no_host.json()["RequestUUID"]
    finally:
        served.stop()
