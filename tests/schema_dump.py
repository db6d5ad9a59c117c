"""A database's schema as plain, comparable data: what two migration paths must agree on.

Every table with its columns in order (name, type, nullability, server default), primary key,
unique constraints, indexes and foreign keys, each with its name: a baseline revision that
"produces the same schema" as the chain it replaces must give exactly this, on SQLite and on
PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, inspect


def _columns(inspector: Any, table: str) -> list[tuple[Any, ...]]:
    return [
        (column["name"], repr(column["type"]), column["nullable"], column.get("default"))
        for column in inspector.get_columns(table)
    ]


def _named(items: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    rows = [tuple(_frozen(item.get(key)) for key in keys) for item in items]
    return sorted(rows, key=repr)


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    return value


def schema_of(engine: Engine) -> dict[str, dict[str, Any]]:
    """{table: {columns, primary_key, uniques, indexes, foreign_keys}}, alembic_version left out."""
    inspector = inspect(engine)
    schema: dict[str, dict[str, Any]] = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        primary_key = inspector.get_pk_constraint(table)
        schema[table] = {
            "columns": _columns(inspector, table),
            "primary_key": (primary_key.get("name"), tuple(primary_key["constrained_columns"])),
            "uniques": _named(inspector.get_unique_constraints(table), "name", "column_names"),
            "indexes": _named(inspector.get_indexes(table), "name", "column_names", "unique"),
            "foreign_keys": _named(
                inspector.get_foreign_keys(table),
                "name",
                "constrained_columns",
                "referred_table",
                "referred_columns",
                "options",
            ),
        }
    return schema


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Readable lines naming each table and aspect where two schemas differ (empty: same)."""
    lines = [f"table only in the first: {name}" for name in sorted(set(expected) - set(actual))]
    lines += [f"table only in the second: {name}" for name in sorted(set(actual) - set(expected))]
    for table in sorted(set(expected) & set(actual)):
        for aspect, wanted in expected[table].items():
            if actual[table][aspect] != wanted:
                lines.append(f"{table}.{aspect}: {wanted!r} != {actual[table][aspect]!r}")
    return lines
