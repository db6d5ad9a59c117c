"""The customer directory: importing `phone,customer_id[,first_name,birthday,sms_consent,
consent_date]` CSV files. Without an `sms_consent` column nobody gets marketing consent."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
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
    columns = _columns_of(reader.fieldnames)
    rows: list[CustomerRow] = []
    seen_phones: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        row = _parse_row(line, _cells(columns, record), default_region)
        if isinstance(row, str):
            report.rejected.append((line, row))
            continue
        repeat = _repeat_of(row, seen_phones, seen_ids)
        if repeat is not None:
            report.rejected.append((line, repeat))
            continue
        seen_phones[row.phone_e164] = line
        seen_ids[row.customer_id] = line
        rows.append(row)
    return rows


def _columns_of(fieldnames: Sequence[str] | None) -> dict[str, str]:
    """The header's columns by their lower-case name; raises CustomerFileError when unusable."""
    if fieldnames is None:
        raise CustomerFileError("the file is empty: expected a header row phone,customer_id")
    columns = {name.strip().lower(): name for name in fieldnames if name}
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise CustomerFileError(f"missing column(s): {', '.join(missing)}")
    return columns


def _cells(columns: Mapping[str, str], record: Mapping[str, str | None]) -> Callable[[str], str]:
    """Reads one column of a record by its name, trimmed; "" when the file has no such column."""

    def cell(name: str) -> str:
        key = columns.get(name)
        return (record.get(key) or "").strip() if key else ""

    return cell


def _parse_row(line: int, cell: Callable[[str], str], default_region: str) -> CustomerRow | str:
    """The row's values, or why the row is rejected (the first problem found)."""
    try:
        phone = to_e164(cell("phone"), default_region)
    except InvalidPhoneNumber:
        return "phone is not a valid number"
    customer_id = cell("customer_id")
    if not customer_id:
        return "customer_id is empty"
    if len(customer_id) > MAX_CUSTOMER_ID:
        return f"customer_id is longer than {MAX_CUSTOMER_ID} characters"
    try:
        birthday = _optional_date(cell("birthday"))
    except ValueError:
        return "birthday must be YYYY-MM-DD"
    sms_consent = cell("sms_consent").lower()
    if sms_consent not in ("yes", "no", ""):
        return "sms_consent must be yes, no or blank"
    try:
        consent_date = _optional_date(cell("consent_date"))
    except ValueError:
        return "consent_date must be YYYY-MM-DD"
    return CustomerRow(
        line,
        phone,
        customer_id,
        cell("first_name")[:100] or None,
        birthday,
        sms_consent=sms_consent == "yes",
        consent_date=consent_date,
    )


def _repeat_of(
    row: CustomerRow, seen_phones: Mapping[str, int], seen_ids: Mapping[str, int]
) -> str | None:
    """Why the row repeats an earlier line of the file (its phone or its id), if it does."""
    if row.phone_e164 in seen_phones:
        return f"phone repeats line {seen_phones[row.phone_e164]}"
    if row.customer_id in seen_ids:
        return f"customer_id repeats line {seen_ids[row.customer_id]}"
    return None


def _optional_date(text: str) -> date | None:
    """A YYYY-MM-DD cell as a date, None when blank; raises ValueError otherwise."""
    return date.fromisoformat(text) if text else None


def import_customers(
    db: Session, text: str, default_region: str, progress: Callable[[int], None] | None = None
) -> CustomerImportReport:
    """Import (or update) directory rows; a phone's customer id and details follow the file.

    Raises CustomerFileError when the file has no usable header.
    """
    report = CustomerImportReport()
    rows = read_customer_rows(text, default_region, report)
    existing_by_phone, owner_of_id = _stored_customers(db, rows)
    for row in rows:
        owner = owner_of_id.get(row.customer_id)
        if owner is not None and owner != row.phone_e164:
            report.rejected.append((row.line, "customer_id already belongs to another number"))
            continue
        _save_customer(db, row, existing_by_phone.get(row.phone_e164), owner_of_id, report)
        owner_of_id[row.customer_id] = row.phone_e164
        if row.sms_consent:
            given_on = datetime.combine(row.consent_date, time(), UTC) if row.consent_date else None
            report.consents_recorded += import_consent(db, row.phone_e164, given_on)
        if progress is not None:
            progress(1)
    db.flush()
    report.rejected.sort()
    return report


def _stored_customers(
    db: Session, rows: Sequence[CustomerRow]
) -> tuple[dict[str, Customer], dict[str, str]]:
    """The stored customers with the rows' phones, and the phone owning each of their ids."""
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
    return existing_by_phone, owner_of_id


def _save_customer(
    db: Session,
    row: CustomerRow,
    customer: Customer | None,
    owner_of_id: dict[str, str],
    report: CustomerImportReport,
) -> None:
    """Add the row's customer or bring the stored one up to date; counts it in `report`."""
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
