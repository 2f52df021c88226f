"""Bulk inserts through the driver's executemany: values converted once per column type, no ORM per row."""

from __future__ import annotations

import datetime as dt
from operator import itemgetter
from typing import Any, Callable

from sqlalchemy import Date, Enum, Table
from sqlalchemy.engine import Connection

from console.models.entities import UtcDateTime

UTC = dt.timezone.utc


def _converter(column, dialect_name: str) -> Callable[[Any], Any] | None:
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


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert dict rows that all carry the same keys (the first row's) in one executemany."""
    if not rows:
        return
    dialect = conn.dialect
    names = list(rows[0])
    for name in names:
        convert = _converter(table.c[name], dialect.name)
        if convert is not None:
            for r in rows:
                v = r[name]
                if v is not None:
                    r[name] = convert(v)
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {table.name} ({', '.join(names)}) "
           f"VALUES ({', '.join([mark] * len(names))})")
    getter = itemgetter(*names)
    data = [getter(r) for r in rows] if len(names) > 1 else [(getter(r),) for r in rows]
    conn.exec_driver_sql(sql, data)
