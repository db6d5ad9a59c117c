"""The whole product as an operator runs it: CLI set-up, `flask run`, Twilio-signed HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ACCOUNT_SID, WEBHOOK_TOKEN, inbound_form, signature_for
from tests.stand_ins.server import free_port
from tests.stand_ins.talon import API_KEY, DEPLOYMENT_HOST

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).parent / "flask")


@pytest.fixture
def operator_env(tmp_path, talon_stand_in, twilio_stand_in) -> dict[str, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TALON_"))}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'selfserve.db'}",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": WEBHOOK_TOKEN,
            "TWILIO_FROM_NUMBER": "+61480000000",
            "TWILIO_API_BASE_URL": twilio_stand_in.url,
            "TALON_CEP_URL": talon_stand_in.url,
            "TALON_API_KEY": API_KEY,
            "TALON_DEPLOYMENT_HOST": DEPLOYMENT_HOST,
            "PORT_FOR_TEST": str(port),
        }
    )
    return env


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLASK, "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_operator_sets_up_and_a_customer_texts_a_keyword(operator_env, tmp_path, talon_stand_in):
    assert flask(operator_env, "db", "upgrade").returncode == 0
    imported = flask(operator_env, "campaigns", "import", "demo/campaigns.toml")
    assert imported.returncode == 0, imported.stderr
    customers = tmp_path / "customers.csv"
    customers.write_text("phone,customer_id,first_name\n0491 570 156,CUST-77,Alex\n")
    result = flask(operator_env, "customers", "import", str(customers))
    assert "1 imported" in result.stdout

    port = operator_env["PORT_FOR_TEST"]
    server = subprocess.Popen(
        [FLASK, "--app", "app", "run", "--port", port],
        cwd=ROOT,
        env=operator_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/webhooks/twilio/sms", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "flask run did not start"
                time.sleep(0.1)
        form = inbound_form("  Spring!  ", sender="+61491570156")
        path = "/webhooks/twilio/sms"
        headers = {"X-Twilio-Signature": signature_for(path, form, base_url=base)}
        answer = httpx.post(base + path, data=form, headers=headers, timeout=10)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/xml")
        code = next(iter(talon_stand_in.coupons.values()))["Value"]
        assert f"Your Spring code: {code}" in answer.text
        assert talon_stand_in.coupon_requests()[0].args["identifier"] == "CUST-77:34"
        unsigned = httpx.post(base + path, data=form, timeout=10)
        assert unsigned.status_code == 403
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert "491570156" not in output


@pytest.fixture
def sandbox_app(sandbox_settings):
    from app import create_app
    from tests.conftest import import_campaigns_text

    application = create_app(sandbox_settings)
    import_campaigns_text(application, Path(ROOT / "demo/campaigns.toml").read_text())
    yield application
    application.extensions["selfserve"].close()


def test_make_run_defaults_answer_from_the_built_in_sandbox(sandbox_app, sandbox_settings):
    from tests.conftest import post_signed, reply_text, send_text

    client = sandbox_app.test_client()
    token = sandbox_settings.webhook_auth_token
    first = reply_text(post_signed(client, inbound_form("SPRING"), token=token))
    again = reply_text(post_signed(client, inbound_form("bloom"), token=token))
    assert first.startswith("Your Spring code: SBX-")
    assert first == again
    assert "Acme points" in reply_text(post_signed(client, inbound_form("POINTS"), token=token))
    assert send_text(client, "SPRING").status_code == 403  # signed with another token
    unsigned = client.post("/webhooks/twilio/sms", data=inbound_form("SPRING"))
    assert unsigned.status_code == 403
