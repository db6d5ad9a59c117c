"""The Management API client (talon/management.py) against the stand-in, over a real socket:
auth, the CSV, pacing under 3 requests per second, and patience with 429 and 5xx."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from selfserve.errors import TalonRejected, TalonUnavailable
from selfserve.talon import ManagementClient
from tests.redemption_support import Waits, ago
from tests.stand_ins.talon_management import MANAGEMENT_KEY


def client_for(stand_in, waits: Waits | None = None, **options) -> ManagementClient:
    return ManagementClient(
        stand_in.url, MANAGEMENT_KEY, httpx.Client(timeout=10), sleep=waits or time.sleep, **options
    )


def test_it_reads_coupon_effects_and_skips_every_other_effect(talon_management):
    talon_management.redeem(12, 34, "AB-12", revenue="19.90", profile="cust-1", store="s-1")
    talon_management.add_effect("setDiscount", 12, 34, "AB-12")
    talon_management.add_effect("acceptCoupon", 12, 99, "OTHER-CAMPAIGN")
    talon_management.effects.append({**talon_management.effects[0], "props": "not json"})

    [effect] = client_for(talon_management).coupon_effects(12, campaign_id=34)

    assert (effect.name, effect.code, effect.total_revenue) == (
        "acceptCoupon",
        "AB-12",
        Decimal("19.90"),
    )
    assert (effect.profile_integration_id, effect.store_integration_id) == ("cust-1", "s-1")
    asked = talon_management.requests[-1]
    assert asked.headers["Authorization"] == f"ManagementKey-v1 {MANAGEMENT_KEY}"
    assert asked.args["campaignId"] == "34"


def test_the_window_is_sent_as_rfc3339_and_respected(talon_management):
    talon_management.redeem(12, 34, "OLD", created=ago(days=3))
    talon_management.redeem(12, 34, "NEW", created=ago(hours=1))

    effects = client_for(talon_management).coupon_effects(
        12, campaign_id=34, created_after=ago(days=1), created_before=ago(minutes=1)
    )

    assert [effect.code for effect in effects] == ["NEW"]
    assert talon_management.requests[-1].args["createdAfter"].endswith("Z")


def test_a_wrong_key_is_a_configuration_error_not_retried(talon_management):
    client = ManagementClient(
        talon_management.url, "wrong", httpx.Client(timeout=10), sleep=Waits()
    )

    with pytest.raises(TalonRejected) as raised:
        client.coupon_effects(12)

    assert raised.value.status == 401
    assert raised.value.request_uuid
    assert len(talon_management.requests) == 1


def test_the_stand_in_answers_429_above_three_requests_a_second(talon_management):
    with httpx.Client(timeout=10) as http:
        statuses = [
            http.get(
                f"{talon_management.url}/v1/applications/12/export_effects",
                headers={"Authorization": f"ManagementKey-v1 {MANAGEMENT_KEY}"},
            ).status_code
            for _ in range(4)
        ]
    assert statuses == [200, 200, 200, 429]


def test_the_client_paces_itself_under_the_limit(talon_management):
    client = client_for(talon_management)
    started = time.monotonic()

    for _ in range(5):
        client.coupon_effects(12)

    assert [asked.status for asked in talon_management.requests] == [200] * 5
    assert time.monotonic() - started >= 1.9  # 2 per second: five calls span two seconds


def test_a_429_waits_out_its_retry_after(talon_management):
    talon_management.requests_per_second = None  # the waits below are recorded, not slept
    talon_management.every_other_429 = True
    talon_management.retry_after = "3"
    waits = Waits()

    client_for(talon_management, waits, requests_per_second=1000).coupon_effects(12)
    client_for(talon_management, waits, requests_per_second=1000).coupon_effects(12)

    retries = [wait for wait in waits.seconds if wait >= 1]
    assert len(retries) == 2  # each export's first ask was answered 429
    assert all(3 <= wait < 3.01 for wait in retries)


def test_5xx_is_retried_with_growing_jittered_backoff_then_given_up(talon_management):
    talon_management.requests_per_second = None  # the waits below are recorded, not slept
    talon_management.down_for = 3
    waits = Waits()
    client = client_for(
        talon_management, waits, requests_per_second=1000, backoff_base_seconds=1, max_attempts=4
    )

    assert client.coupon_effects(12) == []
    assert [round(wait) for wait in waits.seconds if wait > 0.01] == pytest.approx([1, 2, 3], abs=1)
    assert 0.5 <= waits.seconds[-3] <= 1
    assert 1 <= waits.seconds[-2] <= 2
    assert 2 <= waits.seconds[-1] <= 4

    talon_management.down_for = 10
    with pytest.raises(TalonUnavailable):
        client.coupon_effects(12)


def test_the_management_settings_come_from_the_environment(tmp_path):
    from selfserve.ops import Settings

    base = {"INSTANCE_PATH": str(tmp_path), "TALON_DEPLOYMENT_HOST": "acme.europe-west1.talon.one"}
    off = Settings.from_environment(base)
    on = Settings.from_environment(
        {**base, "TALON_MANAGEMENT_KEY": "mk-secret-77", "REDEMPTIONS_SYNC_MINUTES": "5"}
    )
    elsewhere = Settings.from_environment(
        {**base, "TALON_MANAGEMENT_KEY": "k", "TALON_MANAGEMENT_URL": "http://127.0.0.1:9/"}
    )

    assert not off.redemptions_on
    assert on.redemptions_on
    assert on.talon_management_base_url == "https://acme.europe-west1.talon.one"
    assert on.redemptions_sync_minutes == 5
    assert "mk-secret-77" not in repr(on)
    assert elsewhere.talon_management_base_url == "http://127.0.0.1:9"


def test_a_csv_with_a_byte_order_mark_and_capitalised_headers_still_reads(
    talon_management, monkeypatch
):
    import tests.stand_ins.talon_management as contract

    talon_management.redeem(12, 34, "AB-12", revenue="1")
    as_written = contract._csv
    monkeypatch.setattr(
        contract,
        "_csv",
        lambda effects: "\ufeff" + as_written(effects).replace("name,", "Name,", 1),
    )

    [effect] = client_for(talon_management).coupon_effects(12)

    assert effect.code == "AB-12"
