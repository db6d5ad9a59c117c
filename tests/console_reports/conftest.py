"""What the console shows: dashboard counts, the message log, stats, CSV, and masked numbers.

This conftest holds what the test modules beside it share.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from selfserve.customers import ConsentState, record_consent
from selfserve.models import InboundMessage
from tests.console_support import create_console_user, log_in

CUSTOMERS = ["+61491570156", "+61491570157", "+61491570158"]


NOW = datetime.now(UTC)


@pytest.fixture
def console(app, client):
    create_console_user(app)
    assert log_in(client).status_code == 302
    return client


def add_messages(app, rows: list[dict]) -> None:
    """Write message-log rows directly (times and outcomes a test chooses)."""
    defaults = {"channel": "sms", "phone_masked": "+61 4•• ••• •56", "state": "done"}
    with app.extensions["selfserve"].sessions.begin() as db:
        for number, row in enumerate(rows):
            db.execute(
                insert(InboundMessage).values(
                    **{**defaults, "message_sid": f"SMrows{number:030d}", **row}
                )
            )


def full_number_forms(phone: str) -> list[str]:
    """Every way a full number could show: E.164, national, bare digits, spaced."""
    digits = phone[3:]
    return [
        phone,
        "0" + digits,
        digits,
        f"0{digits[:3]} {digits[3:6]} {digits[6:]}",
        f"+61 {digits[:3]} {digits[3:6]} {digits[6:]}",
    ]


def table_rows(html: str, table_id: str) -> list[str]:
    """The body and footer rows of a table as a person reads them: cells' words, one line."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, flags=re.S)
    assert table, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(0).split("</thead>")[1], flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def add_consent(app, rows: list[tuple]) -> None:
    """Write consent records directly: (phone, state, method, campaign, source, hours ago)."""
    with app.extensions["selfserve"].sessions.begin() as db:
        for phone, state, method, campaign, source, hours_ago in rows:
            record_consent(
                db,
                phone,
                ConsentState(state),
                method,
                "wording",
                campaign_slug=campaign,
                source=source,
                at=NOW - timedelta(hours=hours_ago),
            )
