"""The customer directory: importing `phone,customer_id[,first_name,birthday,sms_consent,
consent_date]` CSV files. Without an `sms_consent` column nobody gets marketing consent."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from selfserve.customers.consent import import_consent
from selfserve.customers.phones import to_e164
from selfserve.errors import InvalidPhoneNumber, SelfserveError
from selfserve.models import Customer, utcnow

REQUIRED_COLUMNS = ("phone", "customer_id")
OPTIONAL_COLUMNS = ("first_name", "birthday", "sms_consent", "consent_date")
MAX_CUSTOMER_ID = 128
CHUNK = 1000  # rows per IN (...) query: far below SQLite and PostgreSQL limits


class CustomerFileError(SelfserveError):
    """The CSV cannot be read at all (no header, missing columns)."""


@dataclass
class CustomerImportReport:
    """Rows imported, updated, unchanged and rejected (with their line numbers and why)."""

    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    consents_recorded: int = 0


@dataclass(frozen=True)
class CustomerRow:
    """One valid row of the file."""

    line: int
    phone_e164: str
    customer_id: str
    first_name: str | None
    birthday: date | None
    sms_consent: bool = False
    consent_date: date | None = None


def read_customer_rows(
    text: str, default_region: str, report: CustomerImportReport
) -> list[CustomerRow]:
    """Parse and check every row; bad rows go to `report.rejected` with their line number."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None:
        raise CustomerFileError("the file is empty: expected a header row phone,customer_id")
    columns = {name.strip().lower(): name for name in reader.fieldnames if name}
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise CustomerFileError(f"missing column(s): {', '.join(missing)}")
    rows: list[CustomerRow] = []
    seen_phones: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for record in reader:
        line = reader.line_num

        def cell(name: str, record: dict[str, str | None] = record) -> str:
            key = columns.get(name)
            return (record.get(key) or "").strip() if key else ""

        reason = None
        try:
            phone = to_e164(cell("phone"), default_region)
        except InvalidPhoneNumber:
            phone, reason = "", "phone is not a valid number"
        customer_id = cell("customer_id")
        birthday = None
        if reason is None and not customer_id:
            reason = "customer_id is empty"
        elif reason is None and len(customer_id) > MAX_CUSTOMER_ID:
            reason = f"customer_id is longer than {MAX_CUSTOMER_ID} characters"
        if reason is None and cell("birthday"):
            try:
                birthday = date.fromisoformat(cell("birthday"))
            except ValueError:
                reason = "birthday must be YYYY-MM-DD"
        sms_consent = cell("sms_consent").lower()
        consent_date = None
        if reason is None and sms_consent not in ("yes", "no", ""):
            reason = "sms_consent must be yes, no or blank"
        if reason is None and cell("consent_date"):
            try:
                consent_date = date.fromisoformat(cell("consent_date"))
            except ValueError:
                reason = "consent_date must be YYYY-MM-DD"
        if reason is None and phone in seen_phones:
            reason = f"phone repeats line {seen_phones[phone]}"
        if reason is None and customer_id in seen_ids:
            reason = f"customer_id repeats line {seen_ids[customer_id]}"
        if reason is not None:
            report.rejected.append((line, reason))
            continue
        seen_phones[phone] = line
        seen_ids[customer_id] = line
        rows.append(
            CustomerRow(
                line,
                phone,
                customer_id,
                cell("first_name")[:100] or None,
                birthday,
                sms_consent=sms_consent == "yes",
                consent_date=consent_date,
            )
        )
    return rows


def import_customers(
    db: Session, text: str, default_region: str, progress: Callable[[int], None] | None = None
) -> CustomerImportReport:
    """Import (or update) directory rows; a phone's customer id and details follow the file.

    Raises CustomerFileError when the file has no usable header.
    """
    report = CustomerImportReport()
    rows = read_customer_rows(text, default_region, report)
    existing_by_phone: dict[str, Customer] = {}
    owner_of_id: dict[str, str] = {}
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        existing_by_phone.update(
            (c.phone_e164, c)
            for c in db.scalars(
                select(Customer).where(Customer.phone_e164.in_([r.phone_e164 for r in chunk]))
            )
        )
        owner_of_id.update(
            db.execute(
                select(Customer.customer_id, Customer.phone_e164).where(
                    Customer.customer_id.in_([r.customer_id for r in chunk])
                )
            ).all()
        )
    for row in rows:
        owner = owner_of_id.get(row.customer_id)
        if owner is not None and owner != row.phone_e164:
            report.rejected.append((row.line, "customer_id already belongs to another number"))
            continue
        customer = existing_by_phone.get(row.phone_e164)
        if customer is None:
            db.add(
                Customer(
                    phone_e164=row.phone_e164,
                    customer_id=row.customer_id,
                    first_name=row.first_name,
                    birthday=row.birthday,
                )
            )
            report.imported += 1
        elif (customer.customer_id, customer.first_name, customer.birthday) == (
            row.customer_id,
            row.first_name,
            row.birthday,
        ):
            report.unchanged += 1
        else:
            owner_of_id.pop(customer.customer_id, None)
            customer.customer_id = row.customer_id
            customer.first_name = row.first_name
            customer.birthday = row.birthday
            customer.updated_at = utcnow()
            report.updated += 1
        owner_of_id[row.customer_id] = row.phone_e164
        if row.sms_consent:
            given_on = datetime.combine(row.consent_date, time(), UTC) if row.consent_date else None
            report.consents_recorded += import_consent(db, row.phone_e164, given_on)
        if progress is not None:
            progress(1)
    db.flush()
    report.rejected.sort()
    return report
