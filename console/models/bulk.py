"""Bulk inserts through the driver's executemany: values converted once per column type, no ORM per row."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Column, Date, Enum, Index, Table, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateIndex

from console.models.entities import UtcDateTime

UTC = dt.UTC


def _value_expression(column: Column[Any], name: str, dialect_name: str) -> str:
    """Python source turning row[name] into its driver value (what the ORM's bind processors would do)."""
    v = f"row[{name!r}]"
    t = column.type
    if isinstance(t, Enum):  # enum members by name; strings (already names) as they are
        return f"(_v.name if (_v := {v}) is not None and _v.__class__ is not str else _v)"
    if dialect_name != "sqlite":
        return v  # psycopg takes aware datetimes and dates as they are
    if isinstance(t, UtcDateTime):
        # SQLAlchemy's SQLite DATETIME text form, naive UTC (what UtcDateTime stores).
        return (f"(None if (_v := {v}) is None else (_v if _v.tzinfo is _UTC else _v.astimezone(_UTC))"
                f".isoformat(' ', 'microseconds')[:26])")
    if isinstance(t, Date):
        return f"(None if (_v := {v}) is None else _v.isoformat())"
    return v


@functools.lru_cache(maxsize=64)
def _row_converter(table: Table, names: tuple[str, ...], dialect_name: str) -> Callable[[list[dict[str, Any]]], list[
        tuple[Any, ...]]]:
    """One compiled comprehension per table and column set: a row is read and converted in one pass, with no
    call per value (the column-by-column loops took a third of a demo writer's time)."""
    values = ", ".join(_value_expression(table.c[name], name, dialect_name) for name in names)
    source = f"def convert(rows):\n    return [({values},) for row in rows]\n"
    scope: dict[str, Any] = {"_UTC": UTC}
    exec(compile(source, f"<bulk rows of {table.name}>", "exec"), scope)  # noqa: S102 - built from column names
    return cast(Callable[[list[dict[str, Any]]], list[tuple[Any, ...]]], scope["convert"])


@dataclass
class Prepared:
    """Rows of one table as driver values: column names and one tuple per row (cheap to pickle)."""

    table: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


def prepare(table: Table, rows: list[dict[str, Any]], dialect_name: str) -> Prepared:
    """Convert dict rows that all carry the same keys (the first row's) into driver-ready tuples."""
    if not rows:
        return Prepared(table.name, [], [])
    names = tuple(rows[0])
    return Prepared(table.name, list(names), _row_converter(table, names, dialect_name)(rows))


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


def insert_built(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows built to be stored as they are: every value what the driver stores (on SQLite, text for
    times and dates, enum names) and every row with the first row's keys in the same order. SQLite binds each
    row's values as they are; PostgreSQL's COPY adapts them as insert_rows does."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        insert_rows(conn, table, rows)
        return
    insert_prepared(conn, Prepared(table.name, list(rows[0]), [tuple(row.values()) for row in rows]))


def load_faster(engine: Engine) -> None:
    """For an engine that only bulk-loads rows built consistently by this program (a demo writer process):
    SQLite skips the per-row foreign-key lookups and the syncs at commit. A crash mid-load loses only the
    open batch's transaction, which the next load repairs like any interrupted one."""
    if engine.dialect.name != "sqlite":
        return
    # The driver looks for an adapter for every value that is not an int, float or str: for None and bools it
    # finds none only after two failed attribute lookups, each raising and discarding an AttributeError (a
    # third of a demo writer's binding time; devices are mostly empty columns). Registered adapters are found
    # in one lookup. They are process-wide, which suits a process that only loads (the same values stored).
    sqlite3.register_adapter(type(None), cast(Callable[[None], None], {}.get))  # None: NULL, as before
    sqlite3.register_adapter(bool, int)  # 1 or 0, as SQLite stores a bool anyway

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:  # after Database's own: these settings win
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys = OFF")
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("PRAGMA cache_size = -65536")
        cursor.close()


def _sort_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@contextlib.contextmanager
def sorting_in_parallel(conn: Connection, cache_kib: int = 65536) -> Iterator[None]:
    """SQLite: index builds and big ORDER BYs sort on helper threads (both cores instead of one), in pieces of
    `cache_kib` (the page cache's size), for this connection until the block ends. Small pieces suit a sort
    that only feeds a B-tree built in order (an index, a filled table): each is sorted on a helper thread
    while the next is read, then merged. Building a million users' index took half the time with 2 MB
    pieces as with 64 MB ones, sorted in memory on one thread."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = [(name, conn.exec_driver_sql(f"PRAGMA {name}").scalar()) for name in ("threads", "cache_size")]
    conn.exec_driver_sql(f"PRAGMA threads = {_sort_threads()}")
    conn.exec_driver_sql(f"PRAGMA cache_size = -{int(cache_kib)}")
    try:
        yield
    finally:
        for name, value in before:
            conn.exec_driver_sql(f"PRAGMA {name} = {int(value or 0)}")


def create_indexes_apart(engine: Engine, indexes: list[Index]) -> None:
    """SQLite: build the indexes (those already there are left), each in a write transaction of its own, in
    pieces sorted on helper threads (sorting_in_parallel). A thread meanwhile copies the pages each build
    committed from the write-ahead log into the database (a checkpoint), on the other core: a commit would do
    it itself with that core idle (1.5 s for a million users' indexes)."""
    if not indexes:
        return
    raw = engine.raw_connection()
    cursor = raw.cursor()  # autocommit: each build's transaction is begun and committed here
    try:
        before = {name: int(cursor.execute(f"PRAGMA {name}").fetchone()[0] or 0)
                  for name in ("wal_autocheckpoint", "threads", "cache_size")}
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
        cursor.execute(f"PRAGMA threads = {_sort_threads()}")
        cursor.execute("PRAGMA cache_size = -2048")
        stop = threading.Event()
        copier = threading.Thread(target=_checkpoint_until, args=(engine.url.database, stop), name="wal-checkpoint",
                                  daemon=True)
        if engine.url.database not in (None, "", ":memory:"):
            copier.start()
        try:
            for index in indexes:
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    cursor.execute(str(CreateIndex(index, if_not_exists=True).compile(dialect=engine.dialect)))
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
                cursor.execute("COMMIT")
        finally:
            stop.set()
            if copier.is_alive():
                copier.join()
            for name, value in before.items():
                cursor.execute(f"PRAGMA {name} = {value}")
    finally:
        cursor.close()
        raw.close()  # back to the pool, as it was


def _checkpoint_until(path: str, stop: threading.Event) -> None:
    """Copy committed pages from the write-ahead log into the database file until `stop`, then once more, on a
    connection of its own (never one a pool could also hand to the builds). A passive checkpoint never waits
    for the writer: it copies what is committed and leaves the rest. If one fails, copying stops and nothing is
    lost: the pages stay in the log, and the next commit's own checkpoint copies them."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error:
        return
    try:
        while True:
            last = stop.is_set()
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            if last:
                return
            stop.wait(0.05)
    except sqlite3.Error:
        return
    finally:
        conn.close()


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


def drop_indexes(conn: Connection, tables: Iterable[Table], keep: Collection[str] = ()) -> None:
    """Drop the tables' declared secondary indexes (but those named in `keep`) before a bulk load: building
    each once afterwards is one sort, where keeping it row by row is a B-tree insert per row at a random place
    (half of a million-user load's writing). Primary keys and unique constraints stay, so the load is still
    checked."""
    tables = list(tables)
    present = _present_indexes(conn, tables)
    for index in _declared_indexes(tables):
        if index.name in present and index.name not in keep:
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
