"""QR landing pages over Flask's test client: scan, prove the number, see the code on the page.

The visitor reads the forms the pages really have (tests/phone_visitor.py), the one-time code
comes from the Twilio stand-in on a real socket, and the coupon from the Talon.One stand-in,
so every branch is exercised the way the independent harness will. This conftest holds the
campaigns, fixtures and helpers the test modules beside it share.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from selfserve.models import (
    utcnow,
)
from tests.phone_visitor import (
    PhoneVisitor,
    one_time_code,
)

PHONE = "+61491570156"


TYPED = "0491 570 156"


E164 = "+61491570156"  # TYPED in E.164


HOSTILE_NUMBERS = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "0" * 10_000,
    "+61 491 570 156\x00",
    "'; DROP TABLE phone_verifications; --",
    "🙂🙂🙂",
    "\u202e6510754190",
    "   ",
    "",
    "+999 123 456",
    "javascript:alert(1)",
    "0491 570 15",
    "1e10",
]


def rows(app, model):
    with app.extensions["selfserve"].sessions() as db:
        return db.scalars(select(model)).all()


def count(app, model) -> int:
    with app.extensions["selfserve"].sessions() as db:
        return db.scalar(select(func.count()).select_from(model))


def latest_code(twilio_stand_in, phone: str = PHONE) -> str:
    messages = twilio_stand_in.messages_to(phone)
    assert messages, f"no text was sent to {phone}"
    return one_time_code(messages[-1].body)


def shown_code(html: str) -> str | None:
    match = re.search(r'id="coupon-code"[^>]*>([^<]+)<', html)
    return match.group(1).strip() if match else None


def error_text(html: str) -> str:
    match = re.search(r'class="error"[^>]*>([^<]*)<', html)
    return unescape(match.group(1)) if match else ""


class SqliteOnly:
    """Tests of what pages show, with nothing database-specific: SQLite alone is enough."""

    @pytest.fixture(params=["sqlite"])
    def database_url(self, tmp_path: Path, sqlite_template: Path) -> str:
        path = tmp_path / "selfserve.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"


@pytest.fixture
def visitor(client) -> PhoneVisitor:
    return PhoneVisitor(client)


def wrong_code_for(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


class MovableClock:
    """A clock for tests: now, until moved."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def spring_with(extra: str, keywords: str = '["SPRING"]') -> str:
    """The spring campaign as the page tests write it, with `extra` lines of TOML."""
    return f"""
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = {keywords}
application_id = 12
campaign_id = 34
{extra}
"""


def _spring_only() -> str:
    return """
[[campaign]]
slug = "spring"
name = "Spring 20% off"
keywords = ["SPRING", "BLOOM"]
application_id = 12
campaign_id = 34
identifier = "{customer_id}:{campaign_id}"
recipient = true
reply = "Your Spring code: {code} (valid until {expiry:%d %b})"
"""
