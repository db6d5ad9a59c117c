"""Abuse resistance over the app's real interfaces (issue 20).

SMS pumping by number ranges (landing form → Twilio stand-in), per-person code caps (signed
webhook → Talon.One stand-in), the ALTCHA bot challenge (solved with the `altcha` package, as
a harness would) and screen-only campaigns' rotating QR codes (the CLI, the screen page, the
PNG decoded with zbar).

This conftest holds what the test modules beside it share.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from dataclasses import replace
from html import unescape
from pathlib import Path

import altcha
import pytest
from PIL import Image
from pyzbar import pyzbar
from sqlalchemy import select

from app import create_app
from selfserve.models import AbuseCount
from tests.conftest import (
    import_campaigns_text,
)

SPRING = """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING", "BLOOM"]
application_id = 12
campaign_id = 34
identifier = "{customer_id}:{campaign_id}:{keyword}"
recipient = true
reply = "Your Spring code: {code}"
max_codes_per_day = 1

[[campaign]]
slug = "summer"
name = "Summer"
keywords = ["SUMMER"]
application_id = 12
campaign_id = 35
reply = "Your Summer code: {code}"

[[campaign]]
slug = "autumn"
name = "Autumn"
keywords = ["AUTUMN"]
application_id = 12
campaign_id = 36
reply = "Your Autumn code: {code}"

[[campaign]]
slug = "winter"
name = "Winter"
keywords = ["WINTER"]
application_id = 12
campaign_id = 37
reply = "Your Winter code: {code}"

[[campaign]]
slug = "stadium"
name = "Stadium draw"
keywords = ["GOAL"]
application_id = 12
campaign_id = 38
reply = "Your stadium code: {code}"
fresh_scan_seconds = 2
"""


class SqliteOnly:
    """Limits, challenges and tokens live outside the database: SQLite alone is enough.
    Caps and the console's counts query the database: they run on PostgreSQL too."""

    @pytest.fixture(params=["sqlite"])
    def database_url(self, tmp_path: Path, sqlite_template: Path) -> str:
        path = tmp_path / "selfserve.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"


def build(settings, **changes):
    application = create_app(replace(settings, **changes))
    application.config["TESTING"] = True
    import_campaigns_text(application, SPRING)
    return application


@pytest.fixture
def make_app(settings):
    built = []

    def make(**changes):
        built.append(build(settings, **changes))
        return built[-1]

    yield make
    for application in built:
        application.extensions["selfserve"].close()


def abuse_counts(application, kind: str) -> int:
    with application.extensions["selfserve"].sessions() as db:
        return sum(db.scalars(select(AbuseCount.count).where(AbuseCount.kind == kind)))


def error_text(html: str) -> str:
    match = re.search(r'class="error"[^>]*>([^<]*)<', html)
    return unescape(match.group(1)) if match else ""


def challenge_of(html: str) -> altcha.Challenge:
    match = re.search(r'data-challenge="([^"]+)"', html)
    assert match, "the number form carries no challenge"
    return altcha.Challenge.from_dict(json.loads(unescape(match.group(1))))


def solved(challenge: altcha.Challenge) -> str:
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()


def decoded_qr(png: bytes) -> str:
    [symbol] = pyzbar.decode(Image.open(io.BytesIO(png)).convert("L"))
    return symbol.data.decode()
