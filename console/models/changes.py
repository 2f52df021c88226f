"""Changes committed by other desks: what changed (kind and ids), learnt from the audit trail.

Every write appends to the audit trail in its own transaction, so the entries after the last one a desk has
seen say what other desks changed since. The watcher is woken by the database: on PostgreSQL by the NOTIFY
each write transaction sends (delivered at its commit, see db.py), on SQLite by ``PRAGMA data_version``,
which moves when another connection commits to the file. Entries this process wrote itself are skipped.
No Qt here: a view adapter runs ``wait()`` on a thread of its own and passes each notice on.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from console.models.db import CHANGES_CHANNEL, Database
from console.models.entities import AuditEntry, AuditHead
from console.models.errors import ConsoleError

# Kinds, as the views name them: an empty id set means "some of this kind, not known which".
USERS, DEVICES, STOCK, CHARGES, ACCOUNTS, STAFF, SETTINGS, AUDIT = (
    "users", "devices", "stock", "charges", "accounts", "staff", "settings", "audit")
POLL_SECONDS = 0.25  # SQLite: how often data_version is read (one cheap pragma)


@dataclass(frozen=True)
class ChangeNotice:
    """What other desks committed since the last notice: ids by kind, and who changed it."""

    ids: dict[str, frozenset[int]] = field(default_factory=dict)
    actors: frozenset[str] = frozenset()
    last_audit_id: int = 0

    def touches(self, kind: str, record_id: int | None = None) -> bool:
        ids = self.ids.get(kind)
        return ids is not None and (record_id is None or not ids or record_id in ids)


def _kinds_of(action: str) -> list[str]:
    group = action.split(".", 1)[0]
    if action == "device.received_into_stock":
        return [STOCK, DEVICES]
    return {"charge": [CHARGES], "settings": [SETTINGS], "staff": [STAFF], "signin": [STAFF],
            "import": [ACCOUNTS, USERS], "account": [ACCOUNTS]}.get(group, [])


def notice_from(entries: list[Any]) -> ChangeNotice | None:
    """Kinds and ids from audit entries (rows with id, actor, action, account_id, user_id, device_id)."""
    if not entries:
        return None
    ids: dict[str, set[int]] = defaultdict(set)
    unknown: set[str] = {AUDIT}
    for e in entries:
        if e.user_id is not None:
            ids[USERS].add(e.user_id)
        if e.device_id is not None:
            ids[DEVICES].add(e.device_id)
        if e.account_id is not None:
            ids[ACCOUNTS].add(e.account_id)
        unknown.update(_kinds_of(e.action))
    out = {kind: frozenset(values) for kind, values in ids.items()}
    for kind in unknown:
        out[kind] = frozenset()  # not known which: the views refresh all they show of it
    return ChangeNotice(out, frozenset(e.actor for e in entries), max(e.id for e in entries))


def _connection_errors() -> tuple[type[BaseException], ...]:
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    errors: tuple[type[BaseException], ...] = (DBAPIError, ConsoleError, sqlite3.Error, OSError)
    try:
        import psycopg
    except ImportError:
        return errors
    return (*errors, psycopg.Error)


class ChangeWatcher:
    """Blocks in ``wait()`` until another desk commits, then says what changed. One per console, used from one
    thread. ``connected`` is False while the database cannot be reached (the watcher keeps retrying)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.connected = True
        self._listener: Any = None
        self._data_version: int | None = None
        self._last_id = self._head()
        if db.is_sqlite:
            self._sqlite_changed()  # the version to compare with from now on

    def _head(self) -> int:
        with self.db.read() as s:
            head = s.get(AuditHead, 1)
            return head.last_id if head else 0

    # --- waking up -------------------------------------------------------------------------------
    def _sqlite_changed(self) -> bool:
        if self._listener is None:
            self._listener = self.db.engine.raw_connection()
        cur = self._listener.cursor()
        try:
            version = cur.execute("PRAGMA data_version").fetchone()[0]
        finally:
            cur.close()
        changed = self._data_version is not None and version != self._data_version
        self._data_version = version
        return changed

    def _postgresql_notified(self, timeout: float) -> bool:
        import psycopg

        if self._listener is None:
            args, kwargs = self.db.engine.dialect.create_connect_args(self.db.engine.url)
            kwargs.pop("options", None)
            self._listener = psycopg.connect(*args, **{**kwargs, "autocommit": True, "connect_timeout": 5})
            self._listener.execute(f"LISTEN {CHANGES_CHANNEL}")
            return True  # (re)connected: whatever was committed meanwhile is read from the trail
        return any(True for _ in self._listener.notifies(timeout=timeout, stop_after=1))

    def _woken(self, timeout: float) -> bool:
        if self.db.is_sqlite:
            deadline = time.monotonic() + timeout
            while True:
                if self._sqlite_changed():
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                time.sleep(min(POLL_SECONDS, left))
        return self._postgresql_notified(timeout)

    # --- reading what changed --------------------------------------------------------------------
    def _new_entries(self) -> list[Any]:
        with self.db.read() as s:
            rows = s.execute(select(AuditEntry.id, AuditEntry.actor, AuditEntry.action, AuditEntry.account_id,
                                    AuditEntry.user_id, AuditEntry.device_id)
                             .where(AuditEntry.id > self._last_id).order_by(AuditEntry.id).limit(5000)).all()
        if rows:
            self._last_id = rows[-1].id
        own = self.db.own_audit_ids
        return [r for r in rows if r.id not in own]

    def wait(self, timeout: float = 1.0) -> ChangeNotice | None:
        """What other desks committed, as soon as one does (None when nothing did within `timeout`).
        A lost connection is retried here; while it is down, `connected` is False and None is returned."""
        try:
            if not self._woken(timeout):
                return None
            notice = notice_from(self._new_entries())
        except _connection_errors():  # the server is away (restart, network): reconnect on the next call
            self._drop_listener()
            self.connected = False
            time.sleep(min(timeout, 1.0))
            return None
        self.connected = True
        return notice

    def _drop_listener(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:  # noqa: BLE001 - it is broken already
                pass
        self._listener = None
        self._data_version = None

    def close(self) -> None:
        self._drop_listener()
