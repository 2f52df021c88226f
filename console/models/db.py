"""Engine and session set-up for SQLite (embedded default) and PostgreSQL (multi-desk)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from console.models.errors import ConcurrentChange

BUSY_TIMEOUT_MS = 5000
MAX_ID = 2**31 - 1  # primary keys are 32-bit integers on PostgreSQL


def is_row_id(value: object) -> bool:
    """Whether `value` can name a row at all; anything else (0, negative, beyond 32 bits) names none, and
    PostgreSQL would refuse it as out of range rather than find nothing."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def default_database_url() -> str:
    import platformdirs

    data_dir = Path(platformdirs.user_data_dir("sls-console", "SLS"))
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'sls-console.sqlite3'}"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how each transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: read-then-write transactions that upgrade later fail
        # with "database is locked" about a third of the time under two desks (docs/platform-notes.md).
        if conn.get_execution_options().get("sls_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class Database:
    """One engine and the two ways to use it: a read session and a write transaction."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False}
        self.engine = create_engine(url, **kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self.engine.execution_options(sls_write=True), expire_on_commit=False)

    @property
    def display_name(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back, changing nothing, on any error."""
        with self._writer() as session:
            try:
                yield session
                session.commit()
            except StaleDataError as exc:
                session.rollback()
                raise ConcurrentChange(
                    "Another desk changed this record while you were working on it. "
                    "The view has been refreshed; check the current state and try again.") from exc
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
