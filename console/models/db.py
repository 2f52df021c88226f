"""Engine and session set-up for SQLite (embedded default) and PostgreSQL (multi-desk)."""

from __future__ import annotations

import contextlib
import functools
import inspect
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from console.models.errors import ConcurrentChange, DatabaseBusy, DatabaseUnavailable, WriteConflict
from console.models.private_files import owner_only_if_new

_T = TypeVar("_T")
BUSY_TIMEOUT_MS = 5000
SQLITE_PAGE_SIZE = 16384  # a new database's (see _configure_sqlite)
MAX_ID = 2**31 - 1  # primary keys are 32-bit integers on PostgreSQL
# PostgreSQL: one stuck query never freezes a desk, and a desk waits at most this long for another's write.
STATEMENT_TIMEOUT_MS = 30_000
LOCK_TIMEOUT_MS = 10_000
# Every write transaction on PostgreSQL takes this transaction-level advisory lock first, so writers run one
# after another as they do on SQLite (BEGIN IMMEDIATE): each reads what the previous one committed, so no
# write skew (two administrators deactivating each other), no deadlock (opt-out against a temporary
# passcode) and no duplicate insert between a check and a write. Writes are short, and every audited write
# already queued on the audit chain's head row.
WRITER_LOCK_KEY = 0x515C0E5  # an arbitrary constant, the same on every desk
CHANGES_CHANNEL = "sls_changes"  # NOTIFY'd in each write transaction: other desks refresh (changes.py)
# SQLSTATEs a writer may meet that mean "try again", not "wrong": serialization failure and deadlock.
RETRY_SQLSTATES = {"40001", "40P01"}
WRITE_ATTEMPTS = 4
RETRY_FIRST_WAIT_S = 0.05  # then doubled each time, with jitter so two desks do not meet again in step


def retries_conflicts(cls: type[_T]) -> type[_T]:
    """Make every public method of a service class run again (at most WRITE_ATTEMPTS times in all, waiting a
    little longer each time) when its write transaction was stopped by a deadlock or a serialization failure.
    Such a transaction wrote nothing, and a service method is one request whose transactions each check what
    they change, so running it again is safe. The writer lock keeps service writes from meeting at all; this is
    for what it cannot cover (other sessions on the database, such as a DBA's script or a report job)."""
    for name, method in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(method):
            setattr(cls, name, _retrying(method))
    cls.__retries_conflicts__ = True  # type: ignore[attr-defined]  # checked by tests/test_write_retry.py
    return cls


def _retrying(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return method(self, *args, **kwargs)
            except WriteConflict:
                if attempt == WRITE_ATTEMPTS:
                    raise
                db = getattr(getattr(self, "ctx", None), "db", None)
                if db is not None:
                    db.retried += 1
                time.sleep(RETRY_FIRST_WAIT_S * 2 ** (attempt - 1) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    return run


def is_row_id(value: object) -> bool:
    """Whether `value` can name a row at all; anything else (0, negative, beyond 32 bits) names none, and
    PostgreSQL would refuse it as out of range rather than find nothing."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def default_database_url() -> str:
    import platformdirs

    data_dir = Path(platformdirs.user_data_dir("sls-console", "SLS"))
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'sls-console.sqlite3'}"


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("sls_write"):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")


def _sqlstate(error: BaseException) -> str | None:
    return getattr(getattr(error, "orig", None), "sqlstate", None)


def _is_disconnect(error: BaseException) -> bool:
    """The server went away (restart, shutdown, network): admin shutdown, crash, connection failures."""
    if not isinstance(error, exc.DBAPIError):
        return False
    state = _sqlstate(error)
    if state is None:  # a PostgreSQL driver error with no SQLSTATE: the connection itself failed or was refused
        return error.connection_invalidated or (isinstance(error, exc.OperationalError)
                                                and type(error.orig).__module__.startswith("psycopg"))
    return error.connection_invalidated or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how each transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            owner_only_if_new(engine.url.database)  # before the WAL exists: it takes the file's mode
            # A new database's pages (an existing one keeps its own): 16 KB instead of 4 KB quarters the pages a
            # million users' bulk load, index builds and checkpoints handle (a million demo users: 3-4 s and 8 s
            # of CPU less), while a read by key or a window of the users list costs within a few milliseconds the
            # same (docs/benchmarks.md).
            cur.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
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
        self.retried = 0  # write requests run again after a deadlock or serialization failure (retries_conflicts)
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False}
        else:
            # pre-ping: after a server restart the pool hands out a fresh connection, not a dead one.
            kwargs["pool_pre_ping"] = True
            kwargs["connect_args"] = {"connect_timeout": 5, "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
                                                                      f" -c lock_timeout={LOCK_TIMEOUT_MS}"}
        self.engine = create_engine(url, **kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        elif self.engine.dialect.name == "postgresql":
            _configure_postgresql(self.engine)
        # Audit entries this process committed: the change watcher announces only other desks' changes.
        self.own_audit_ids: set[int] = set()
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self.engine.execution_options(sls_write=True), expire_on_commit=False,
                                    info={"sls_write": True})

    @property
    def display_name(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            try:
                yield session
            except exc.DBAPIError as error:
                if _is_disconnect(error):  # other faults (a cancelled search) are the caller's to read
                    raise _plain(error) from error
                raise
            finally:
                session.rollback()

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back, changing nothing, on any error."""
        with self._writer() as session:
            try:
                yield session
                if not self.is_sqlite:
                    session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANGES_CHANNEL})
                session.commit()
                self._remember_own(session)
            except StaleDataError as error:
                session.rollback()
                raise ConcurrentChange(
                    "Another desk changed this record while you were working on it. "
                    "The view has been refreshed; check the current state and try again.") from error
            except exc.DBAPIError as error:
                session.rollback()
                raise _plain(error) from error
            except BaseException:
                session.rollback()
                raise

    def _remember_own(self, session: Session) -> None:
        ids = session.info.pop("audit_ids", None)
        if ids:
            if len(self.own_audit_ids) > 10_000:
                self.own_audit_ids.clear()
            self.own_audit_ids.update(ids)

    def dispose(self) -> None:
        self.engine.dispose()

    def integrity_problems(self, limit: int = 10) -> list[str]:
        """SQLite's own check of the file (`PRAGMA integrity_check`): an empty list when it is sound, else up to
        `limit` of its findings. PostgreSQL keeps its own files sound: always empty there."""
        if not self.is_sqlite:
            return []
        with self.engine.connect() as conn:
            rows = [str(r[0]) for r in conn.exec_driver_sql(f"PRAGMA integrity_check({int(limit)})")]
        if rows == ["ok"]:
            return []
        lines = [line for row in rows for line in row.splitlines()]
        return [line for line in lines if not line.startswith("*** in database")][:limit]

    def check_writable(self) -> None:
        """Fail now, with the database's own error, if this desk cannot write to it (a read-only SQLite file),
        rather than at the first sign-in. Writes nothing: the header's user version is set to what it is."""
        if self.is_sqlite:
            with self.write() as s:
                version = int(s.execute(text("PRAGMA user_version")).scalar() or 0)
                s.execute(text(f"PRAGMA user_version = {version}"))


def _plain(error: exc.DBAPIError) -> Exception:
    """A database fault a desk meets in normal work, as a message a person can act on; anything else as is."""
    state = _sqlstate(error)
    if state in RETRY_SQLSTATES:
        return WriteConflict("Another desk was changing the same records at the same moment, and trying again did "
                             "not help. Nothing was changed here; check the current state and try again.")
    if state == "55P03" or "database is locked" in str(error.orig):
        return DatabaseBusy("The database stayed busy with other desks' changes (or one long change, such as an "
                            "import) for too long. Nothing was changed; try again in a moment.")
    if state == "57014":
        return DatabaseBusy("The database took too long to answer, so the request was stopped. Nothing was "
                            "changed; try again, or narrow the search.")
    if _is_disconnect(error):
        return DatabaseUnavailable("The connection to the database server was lost; reconnecting. Nothing was "
                                   "changed by this request: try it again in a moment.")
    return error
