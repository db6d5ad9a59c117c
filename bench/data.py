"""The benchmarks' data: databases at head, seeded directories, signed request files, SQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode

from sqlalchemy import text
from twilio.request_validator import RequestValidator

from bench.servers import (
    ACCOUNT_SID,
    BASE_URL,
    CAMPAIGNS,
    OUR_NUMBER,
    TOKEN,
    WEBHOOK,
    directory_phone,
)
from selfserve.campaigns import import_campaigns
from selfserve.ops import (
    build_engine,
    build_sessionmaker,
    migrate,
)
from tests.stand_ins.twilio_webhook import inbound_sms_form


def prepare_database(url: str) -> None:
    """A fresh schema at the latest migration, with the bench campaign."""
    engine = build_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    with build_sessionmaker(engine, write_first=True).begin() as db:
        import_campaigns(db, CAMPAIGNS)
    engine.dispose()


def seed(url: str, customers: int, messages: int) -> None:
    """Directory customers with an issued code each, and `messages` message-log rows."""
    engine = build_engine(url)
    started = time.monotonic()
    if engine.dialect.name == "sqlite":
        _seed_sqlite(engine, customers, messages)
    else:
        _seed_with_core(engine, customers, messages)
    engine.dispose()
    print(
        f"    seeded {customers} customers + codes, {messages} message rows "
        f"in {time.monotonic() - started:.0f}s",
        flush=True,
    )


def _seed_rows(customers: int, messages: int) -> tuple[Any, Any, Any]:
    now = datetime.now(UTC)
    expiry = now + timedelta(days=60)
    reply = "Your Spring code: T1-00000000 (valid until 31 Dec)"
    people = ((directory_phone(i), f"C{i:07d}", "Alex", now) for i in range(customers))
    codes = (
        ("spring", f"C{i:07d}:34", f"C{i:07d}", f"T1-{i:08X}", i, now, expiry, now)
        for i in range(customers)
    )
    logged = (
        (
            f"SMseed{i:026x}",
            now - timedelta(seconds=messages - i),
            "sms",
            "+61 4•• ••• •56",
            f"C{i % max(customers, 1):07d}",
            OUR_NUMBER,
            "SPRING",
            "spring",
            "done",
            "code_resent",
            reply,
        )
        for i in range(messages)
    )
    return people, codes, logged


_CUSTOMERS_SQL = "INSERT INTO customers (phone_e164, customer_id, first_name, updated_at) "
_CODES_SQL = (
    "INSERT INTO issued_coupons (campaign_slug, identifier, customer_id, code, "
    "talon_coupon_id, starts_at, expires_at, issued_at) "
)
_MESSAGES_SQL = (
    "INSERT INTO inbound_messages (message_sid, received_at, channel, phone_masked, "
    "customer_id, to_number, keyword, campaign_slug, state, outcome, reply) "
)


def _seed_sqlite(engine: Any, customers: int, messages: int) -> None:
    """The driver's executemany in one transaction: a million rows in seconds, not minutes.
    Timestamps are written as SQLAlchemy writes them for SQLite (naive UTC text)."""

    def stamp(rows: Any) -> Any:
        for row in rows:
            yield tuple(
                v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v
                for v in row
            )

    people, codes, logged = _seed_rows(customers, messages)
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        connection.execute("BEGIN")
        connection.executemany(_CUSTOMERS_SQL + "VALUES (?, ?, ?, ?)", stamp(people))
        connection.executemany(_CODES_SQL + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", stamp(codes))
        connection.executemany(
            _MESSAGES_SQL + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", stamp(logged)
        )
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def _seed_with_core(engine: Any, customers: int, messages: int) -> None:
    people, codes, logged = _seed_rows(customers, messages)
    with engine.begin() as connection:
        connection.exec_driver_sql(_CUSTOMERS_SQL + "VALUES (%s, %s, %s, %s)", list(people))
        connection.exec_driver_sql(
            _CODES_SQL + "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", list(codes)
        )
        if messages:
            connection.exec_driver_sql(
                _MESSAGES_SQL + "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                list(logged),
            )
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def twilio_form(body: str, sender: str, sid: str) -> dict[str, str]:
    """The whole form Twilio posts for one inbound SMS to the bench's number."""
    return inbound_sms_form(body, sender, sid, OUR_NUMBER, ACCOUNT_SID)


def write_requests(path: Path, phones: list[str], count: int, tag: str) -> Path:
    """`count` signed requests cycling through `phones`, each with its own MessageSid.

    `tag` (10 hex digits) starts every MessageSid of the file, so files never share one.

    The twilio library signs each one, as Twilio would; the form is encoded once and only the
    fields that change are quoted per request (urlencode of the whole form was the slow part).
    """
    validator = RequestValidator(TOKEN)
    url = BASE_URL + WEBHOOK
    bodies = ("SPRING", "spring", "Bloom!", "  spring please ")
    template = twilio_form("\x01", "\x02", "\x03")
    encoded = urlencode(template)
    quoted_phones = [quote_plus(phone) for phone in phones]
    quoted_bodies = [quote_plus(body) for body in bodies]
    with path.open("w") as out:
        for i in range(count):
            sid = f"SM{tag}{i:022x}"  # SM + 32 hex digits, as Twilio's
            body = bodies[i % len(bodies)]
            phone = phones[i % len(phones)]
            form = {**template, "Body": body, "From": phone, "MessageSid": sid}
            form["SmsSid"] = form["SmsMessageSid"] = sid
            signature = validator.compute_signature(url, form)
            line = (
                encoded.replace("%01", quoted_bodies[i % len(bodies)])
                .replace("%02", quoted_phones[i % len(phones)])
                .replace("%03", sid)
            )
            out.write(f"{signature}\t{line}\n")
    return path


def count_messages(url: str) -> int:
    """Rows in the message log."""
    return run_sql(url, "SELECT count(*) FROM inbound_messages")


def run_sql(url: str, sql: str) -> int:
    """Run one statement; the first column of its first row as a whole number (0 for none)."""
    return int(run_sql_value(url, sql) or 0)


def run_sql_value(url: str, sql: str) -> Any:
    """Run one statement; the first column of its first row (None for none)."""
    engine = build_engine(url)
    with engine.begin() as connection:
        result = connection.execute(text(sql))
        value = result.scalar() if result.returns_rows else None
    engine.dispose()
    return value
