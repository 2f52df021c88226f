"""Bulk inserts through the driver's executemany: values converted once per column type, no ORM per row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Date, Enum, Table
from sqlalchemy.engine import Connection

from console.models.entities import UtcDateTime

UTC = dt.UTC


def _converter(column: Column[Any], dialect_name: str) -> Callable[[Any], Any] | None:
    """How one column's Python values become driver values (what the ORM's bind processors would do)."""
    t = column.type
    if isinstance(t, Enum):
        return lambda v: v.name if hasattr(v, "name") else v
    if dialect_name != "sqlite":
        return None  # psycopg takes aware datetimes and dates as they are
    if isinstance(t, UtcDateTime):
        # SQLAlchemy's SQLite DATETIME text form, naive UTC (what UtcDateTime stores).
        return lambda v: (v if v.tzinfo is UTC else v.astimezone(UTC)).isoformat(" ", "microseconds")[:26]
    if isinstance(t, Date):
        return lambda v: v.isoformat()
    return None


@dataclass
class Prepared:
    """Rows of one table as driver values: column names and one tuple per row (cheap to pickle)."""

    table: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


def prepare(table: Table, rows: list[dict[str, Any]], dialect_name: str) -> Prepared:
    """Convert dict rows that all carry the same keys (the first row's) into driver-ready tuples."""
    names = list(rows[0]) if rows else []
    for name in names:
        convert = _converter(table.c[name], dialect_name)
        if convert is not None:
            for r in rows:
                v = r[name]
                if v is not None:
                    r[name] = convert(v)
    if not names:
        return Prepared(table.name, names, [])
    getter = itemgetter(*names)
    data = [getter(r) for r in rows] if len(names) > 1 else [(getter(r),) for r in rows]
    return Prepared(table.name, names, data)


def insert_prepared(conn: Connection, prepared: Prepared) -> None:
    """One executemany through the driver."""
    if not prepared.rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {prepared.table} ({', '.join(prepared.columns)}) "
           f"VALUES ({', '.join([mark] * len(prepared.columns))})")
    conn.exec_driver_sql(sql, prepared.rows)


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert dict rows that all carry the same keys (the first row's) in one executemany."""
    if rows:
        insert_prepared(conn, prepare(table, rows, conn.dialect.name))
