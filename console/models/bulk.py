"""Bulk inserts through the driver's executemany: values converted once per column type, no ORM per row."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Date, Enum, Index, Table, inspect, text
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
    """One executemany through the driver; COPY on PostgreSQL (several times faster than its INSERTs)."""
    if not prepared.rows:
        return
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(f"COPY {prepared.table} ({', '.join(prepared.columns)}) FROM STDIN") as copy:
                for row in prepared.rows:
                    copy.write_row(row)
        finally:
            cursor.close()
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {prepared.table} ({', '.join(prepared.columns)}) "
           f"VALUES ({', '.join([mark] * len(prepared.columns))})")
    conn.exec_driver_sql(sql, prepared.rows)


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert dict rows that all carry the same keys (the first row's) in one executemany."""
    if rows:
        insert_prepared(conn, prepare(table, rows, conn.dialect.name))


def advance_sequences(conn: Connection, tables: list[str]) -> None:
    """After rows were inserted with ids of their own: move each table's id sequence past the highest id, or
    PostgreSQL's next ordinary insert would be given an id already taken. SQLite needs nothing."""
    if conn.dialect.name != "postgresql":
        return
    for table in dict.fromkeys(tables):
        conn.exec_driver_sql(
            f"SELECT setval(seq, GREATEST((SELECT max(id) FROM {table}), 1)) "
            f"FROM pg_get_serial_sequence('{table}', 'id') AS seq WHERE seq IS NOT NULL")


def _declared_indexes(tables: Iterable[Table]) -> list[Index]:
    return [index for table in tables for index in sorted(table.indexes, key=lambda i: str(i.name))]


def drop_indexes(conn: Connection, tables: Iterable[Table]) -> None:
    """Drop the tables' declared secondary indexes before a bulk load: building each once afterwards is one
    sort, where keeping it row by row is a B-tree insert per row (half of a million-user load's writing).
    Primary keys and unique constraints stay, so the load is still checked."""
    tables = list(tables)
    present = _present_indexes(conn, tables)
    for index in _declared_indexes(tables):
        if index.name in present:
            index.drop(conn)


def missing_indexes(conn: Connection, tables: Iterable[Table]) -> list[Index]:
    tables = list(tables)
    present = _present_indexes(conn, tables)
    return [index for index in _declared_indexes(tables) if index.name not in present]


def create_missing_indexes(conn: Connection, tables: Iterable[Table]) -> None:
    """Build every declared index the tables lack (after a bulk load, or one interrupted before it could)."""
    for index in missing_indexes(conn, tables):
        index.create(conn)


def _present_indexes(conn: Connection, tables: Iterable[Table]) -> set[str]:
    """The names of the tables' indexes, in one catalog query (the inspector's reflection took 24-87 ms per
    table on PostgreSQL: the users list asks at its start)."""
    names = sorted({table.name for table in tables})
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                                 "AND tablename = ANY(:names)"), {"names": names})
    elif conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
                                 "(SELECT value FROM json_each(:names))"), {"names": json.dumps(names)})
    else:
        inspector = inspect(conn)
        return {str(i["name"]) for name in names for i in inspector.get_indexes(name)}
    return {str(name) for (name,) in rows}
