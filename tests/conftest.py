"""Shared fixtures: settings on a fresh database, the app, stand-ins on real sockets, signing.

Every test that takes `database_url` (directly or through `settings`/`app`) runs on SQLite,
and again on PostgreSQL when TEST_DATABASE_URL is set (`.ci/run` sets it): tests/backends.py
chooses the servers and holds the hooks that mark, leave out and count those variants.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from twilio.request_validator import RequestValidator

from app import create_app
from selfserve.ops import Settings, build_engine, migrate
from selfserve.queue import WorkerThreads
from tests.backends import (  # noqa: F401 - hooks and names other test modules import from here
    BASE_DATABASE_URL,
    CI,
    DATABASES,
    QUEUE_BACKENDS,
    TEST_DATABASE_URL,
    TEST_REDIS_URL,
    WITH_POSTGRES,
    WITH_REDIS,
    _fresh_postgres,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_report_header,
    pytest_runtest_logreport,
    pytest_runtest_setup,
    pytest_terminal_summary,
    pytest_xdist_auto_num_workers,
    worker_database_url,
    worker_index,
    worker_redis_url,
)
from tests.stand_ins import talon as talon_contract
from tests.stand_ins import talon_management as talon_management_contract
from tests.stand_ins import twilio_rest
from tests.stand_ins.server import ServedApp
from tests.stand_ins.talon import TalonStandIn
from tests.stand_ins.talon_management import TalonManagementStandIn
from tests.stand_ins.twilio_rest import TwilioRestStandIn
from tests.stand_ins.twilio_webhook import inbound_sms_form

PUBLIC_BASE_URL = "https://sms.acme.example"
WEBHOOK_TOKEN = twilio_rest.AUTH_TOKEN
ACCOUNT_SID = twilio_rest.ACCOUNT_SID
OUR_NUMBER = twilio_rest.FROM_NUMBER
SPRING_CAMPAIGNS = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING", "BLOOM"]
action = "coupon"
application_id = 12
campaign_id = 34
external_campaign_id = "sms-spring"
identifier = "{customer_id}:{campaign_id}"
recipient = true
reply = "Your Spring code: {code} (valid until {expiry:%d %b})"

[[campaign]]
slug = "points"
name = "Acme Rewards"
keywords = ["POINTS"]
action = "loyalty"
loyalty_program_id = 7
reply = "You have {balance} points ({tier}), {pending} pending"

[[campaign]]
slug = "broken"
name = "Misconfigured"
keywords = ["BROKEN"]
action = "coupon"
application_id = 404
campaign_id = 404
"""


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = build_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A database at the latest migration with no rows: SQLite, then PostgreSQL if set."""
    if request.param == "postgresql":
        return _fresh_postgres()
    path = tmp_path / "selfserve.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _served(stand_in: Any) -> Iterator[Any]:
    served = ServedApp(stand_in)
    stand_in.url = served.url
    yield stand_in
    served.stop()


@pytest.fixture
def talon_stand_in() -> Iterator[TalonStandIn]:
    """A Talon.One CEP stand-in on a real socket."""
    yield from _served(TalonStandIn())


@pytest.fixture
def talon_management() -> Iterator[TalonManagementStandIn]:
    """A Talon.One Management API stand-in (export_effects) on a real socket."""
    yield from _served(TalonManagementStandIn())


@pytest.fixture
def twilio_stand_in() -> Iterator[TwilioRestStandIn]:
    """A stand-in for Twilio's Messages resource on a real socket."""
    yield from _served(TwilioRestStandIn())


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    talon_stand_in: TalonStandIn,
    twilio_stand_in: TwilioRestStandIn,
) -> Settings:
    """Settings pointing at the stand-ins, as a production install points at the real thing."""
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key",
        public_base_url=PUBLIC_BASE_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=WEBHOOK_TOKEN,
        twilio_from_number=OUR_NUMBER,
        twilio_api_base_url=twilio_stand_in.url,  # type: ignore[attr-defined]
        talon_cep_url=talon_stand_in.url,  # type: ignore[attr-defined]
        talon_api_key=talon_contract.API_KEY,
        talon_deployment_host=talon_contract.DEPLOYMENT_HOST,
        talon_platform_name="selfserve-tests",
        talon_timeout_seconds=2.0,
        identity_secret="test-identity-secret",
        default_region="AU",
        program_name="Acme Rewards",
        webhook_deadline_seconds=5.0,
        instance_path=str(tmp_path / "instance"),
        # Short leases and retries keep queue tests fast; production defaults are in README.
        worker_lease_seconds=3.0,
        talon_retry_base_seconds=0.2,
        talon_retry_max_seconds=1.0,
        # The bot challenge has tests of its own (tests/abuse/); elsewhere it is in the way.
        landing_challenge="off",
        # Two-factor log-in has tests of its own (test_console_two_factor.py); PUBLIC_BASE_URL is
        # https here, which would require it of every console test.
        mfa_required="false",
    ).completed()


@pytest.fixture
def sandbox_settings(settings: Settings) -> Settings:
    """The `make run` defaults: built-in Talon.One sandbox and SMS outbox, no accounts."""
    return replace(
        settings,
        talon_api_key="",
        talon_deployment_host="",
        twilio_account_sid="",
        twilio_auth_token="",
        talon_cep_url="https://integration.talon.one",
        twilio_api_base_url="https://api.twilio.com",
    ).completed()


def _build_app(settings: Settings) -> Flask:
    application = create_app(settings)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The app on a fresh database, with the test campaigns imported."""
    application = _build_app(settings)
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    yield application
    application.extensions["selfserve"].close()


@pytest.fixture
def redemption_app(settings: Settings, talon_management: TalonManagementStandIn) -> Iterator[Flask]:
    """`app` with TALON_MANAGEMENT_URL and TALON_MANAGEMENT_KEY set to the Management stand-in."""
    application = _build_app(
        replace(
            settings,
            talon_management_url=talon_management.url,  # type: ignore[attr-defined]
            talon_management_key=talon_management_contract.MANAGEMENT_KEY,
        )
    )
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    yield application
    application.extensions["selfserve"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Flask's test client for `app`."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Runs `flask --app app …` commands against `app`."""
    return app.test_cli_runner()


@pytest.fixture
def live_app(app: Flask) -> Iterator[ServedApp]:
    """The app on a real port, for tests that need concurrency or real HTTP."""
    served = ServedApp(app)
    yield served
    served.stop()


@pytest.fixture(params=QUEUE_BACKENDS)
def queue_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """`settings` with the embedded queue and budget, then on Redis when TEST_REDIS_URL is set."""
    if request.param != "redis":
        return settings
    import redis

    with redis.Redis.from_url(TEST_REDIS_URL) as connection:
        connection.flushdb()  # this run's own Redis database: queue and budget start empty
    return replace(settings, redis_url=TEST_REDIS_URL)


@pytest.fixture
def queue_app(queue_settings: Settings) -> Iterator[Flask]:
    """The app (test campaigns imported) on each queue backend."""
    application = _build_app(queue_settings)
    import_campaigns_text(application, SPRING_CAMPAIGNS)
    yield application
    application.extensions["selfserve"].close()


@pytest.fixture
def worker(app: Flask) -> Iterator[WorkerThreads]:
    """The task queue's consumer and sweeper on threads, as `flask --app app worker` runs them."""
    services = app.extensions["selfserve"]
    running = WorkerThreads(
        services.jobs, threads=4, lease_seconds=services.settings.worker_lease_seconds
    ).start()
    yield running
    running.stop()


def wait_for(condition: Callable[[], Any], timeout_seconds: float = 15.0, what: str = "") -> Any:
    """Poll `condition` until it returns something truthy; fail after the deadline."""
    deadline = time.monotonic() + timeout_seconds
    delay = 0.02
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout_seconds}s waiting for {what or condition}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def import_campaigns_text(application: Flask, toml_text: str) -> None:
    """Import a campaigns file's text into the app's database."""
    from selfserve.campaigns import import_campaigns

    services = application.extensions["selfserve"]
    with services.writes.begin() as db:
        import_campaigns(db, toml_text)
    services.campaigns.invalidate()


_sids = itertools.count(1)


def new_message_sid() -> str:
    """A fresh, well-formed MessageSid."""
    return f"SM{next(_sids):032x}"


def inbound_form(
    body: str, sender: str = "+61491570156", message_sid: str | None = None, **extra: str
) -> dict[str, str]:
    """The whole form Twilio posts for one inbound SMS, including fields the app ignores."""
    sid = message_sid or new_message_sid()
    return inbound_sms_form(body, sender, sid, OUR_NUMBER, ACCOUNT_SID, **extra)


def signature_for(
    path: str, form: dict[str, str], token: str = WEBHOOK_TOKEN, base_url: str = PUBLIC_BASE_URL
) -> str:
    """X-Twilio-Signature as Twilio computes it, with the twilio library's own validator."""
    return RequestValidator(token).compute_signature(base_url + path, form)


def post_signed(
    client: Any,
    form: dict[str, str],
    path: str = "/webhooks/twilio/sms",
    token: str = WEBHOOK_TOKEN,
) -> Any:
    """POST a signed webhook through the Flask test client."""
    return client.post(
        path, data=form, headers={"X-Twilio-Signature": signature_for(path, form, token)}
    )


def send_text(
    client: Any, body: str, sender: str = "+61491570156", message_sid: str | None = None
) -> Any:
    """Text `body` from `sender` as Twilio would deliver it."""
    return post_signed(client, inbound_form(body, sender, message_sid))


def reply_text(response: Any) -> str | None:
    """The <Message> text of a TwiML answer, or None for an empty <Response/>."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(response.data)  # noqa: S314 - our own app's TwiML
    assert root.tag == "Response"
    message = root.find("Message")
    return None if message is None else message.text


# --- Browser tests (Playwright driving Debian's Chromium) -----------------------------------

CHROMIUM = "/usr/bin/chromium"  # Debian's package; `playwright install` cannot download here
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run (start-up costs seconds)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def wait_out_the_inline_pause(settings: Settings) -> None:
    """After an inline Talon.One failure the webhook stops asking for a moment: wait it out."""
    import time

    resume_at = time.monotonic() + settings.talon_inline_pause_seconds
    while time.monotonic() <= resume_at:
        time.sleep(0.05)
