"""Exporting users, devices, charges and audit entries to CSV, read in keyset batches (constant memory)."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from console.models import audit
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.directory import UserQuery, filtered
from console.models.entities import Account, AuditEntry, Charge, DeviceHolding, Person, SecurityDevice, User
from console.models.errors import ConsoleError, InvalidInput
from console.models.import_format import COLUMNS as IMPORT_COLUMNS
from console.models.import_format import IGNORED_COLUMNS, protect_cell
from console.models.permissions import Permission, require
from console.models.private_files import open_private

BATCH = 5000
Progress = Callable[[int, int], "bool | None"]  # progress(done, total); False asks to stop


class ExportCancelled(ConsoleError):
    """The operator cancelled the export; no file was left behind."""


@dataclass(frozen=True)
class ExportResult:
    kind: str
    path: str
    rows: int


def describe(query: UserQuery) -> str:
    """A list filter in words, for the audit trail and the agent ("text 'smith', state Enrolled")."""
    parts = []
    if query.normalized_text():
        parts.append(f"{'containing' if query.contains else 'matching'} '{query.normalized_text()}'")
    if query.state is not None:
        parts.append(f"state {query.state.label}")
    return ", ".join(parts) or "no filter"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return protect_cell(value)
    return value


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}" if cents >= 0 else f"-{_money(-cents)}"


class ExportSource(NamedTuple):
    """What one kind of export writes: its header line, how to count its rows, and the rows themselves."""

    header: tuple[str, ...]
    count_rows: Select[int]
    rows: Iterator[list[Any]]


def _batches(s: Session, stmt: Select[*tuple[Any, ...]],
             key: InstrumentedAttribute[int]) -> Iterator[Sequence[Row[*tuple[Any, ...]]]]:
    """Rows of `stmt` in `key` order, BATCH at a time, each batch starting after the last key seen."""
    last: Any = None
    while True:
        q = stmt if last is None else stmt.where(key > last)
        rows = s.execute(q.order_by(key).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _users(s: Session, shown: UserQuery | None = None) -> ExportSource:
    """Every user, or only those the list shows under `shown` (its text and state filter)."""
    header = (*IMPORT_COLUMNS, *IGNORED_COLUMNS)
    stmt = (select(User.id, Account.number, Account.kind, Account.title, User.username, User.full_name, User.role,
                   Person.date_of_birth, Person.citizenship, Person.country_of_residence, Person.id_document_type,
                   Person.id_document_number, User.sls_state, User.active_devices, User.created_at)
            .join(Account, Account.id == User.account_id).join(Person, Person.id == User.person_id))
    count = select(func.count()).select_from(User)
    if shown is not None:
        dialect = s.get_bind().dialect.name
        stmt, count = filtered(stmt, shown, dialect=dialect), filtered(count, shown, dialect=dialect)
    return ExportSource(header, count, (list(r[1:]) for batch in _batches(s, stmt, User.id) for r in batch))


def _devices(s: Session) -> ExportSource:
    header = ("id", "kind", "serial", "state", "account_number", "holders", "locked", "failed_attempts",
              "received_at", "issued_at", "shipped_at", "activated_at", "expires_at", "return_due_at",
              "returned_at", "return_reason")
    d = SecurityDevice
    stmt = (select(d.id, d.kind, d.serial, d.state, Account.number, d.locked, d.failed_attempts, d.received_at,
                   d.issued_at, d.shipped_at, d.activated_at, d.expires_at, d.return_due_at, d.returned_at,
                   d.return_reason).outerjoin(Account, Account.id == d.account_id))

    def rows() -> Iterator[list[Any]]:
        for batch in _batches(s, stmt, d.id):
            holders: dict[int, list[str]] = {}
            for device_id, username in s.execute(
                    select(DeviceHolding.device_id, User.username).join(User, User.id == DeviceHolding.user_id)
                    .where(DeviceHolding.device_id.in_([r[0] for r in batch])).order_by(User.username)):
                holders.setdefault(device_id, []).append(username)
            for r in batch:
                yield [*r[:5], " ".join(holders.get(r[0], ())), *r[5:]]

    return ExportSource(header, select(func.count()).select_from(d), rows())


def _charges(s: Session) -> ExportSource:
    header = ("id", "account_number", "device_serial", "kind", "amount", "currency", "status", "description",
              "created_at", "created_by", "waived_by", "waived_at", "waived_reason")
    c, dev = Charge, aliased(SecurityDevice)
    stmt = (select(c.id, Account.number, dev.serial, c.kind, c.amount_cents, c.currency, c.status, c.description,
                   c.created_at, c.created_by, c.waived_by, c.waived_at, c.waived_reason)
            .join(Account, Account.id == c.account_id).outerjoin(dev, dev.id == c.device_id))
    rows = ([*r[:4], _money(r[4]), *r[5:]] for batch in _batches(s, stmt, c.id) for r in batch)
    return ExportSource(header, select(func.count()).select_from(c), rows)


def _audit(s: Session) -> ExportSource:
    header = ("id", "at", "actor", "action", "account_id", "user_id", "device_id", "summary", "details",
              "prev_hash", "entry_hash")
    a = AuditEntry
    stmt = select(a.id, a.at, a.actor, a.action, a.account_id, a.user_id, a.device_id, a.summary, a.details,
                  a.prev_hash, a.entry_hash)
    return ExportSource(header, select(func.count()).select_from(a),
                        (list(r) for b in _batches(s, stmt, a.id) for r in b))


KINDS: dict[str, Callable[[Session], ExportSource]] = {
    "users": _users, "devices": _devices, "charges": _charges, "audit": _audit}
KIND_LABELS = {"users": "users", "devices": "devices", "charges": "charges", "audit": "audit entries"}


@retries_conflicts
class ExportService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def export(self, actor: Actor, kind: str, path: str | Path, progress: Progress | None = None, *,
               shown: UserQuery | None = None) -> ExportResult:
        """Write every row of `kind` to `path` as CSV (UTF-8, header line, readable by its owner only); the
        export itself is audited. `shown` (users only): write just the users the list shows under that filter.

        The rows go to a temporary file first; the audit entry is committed next, and only then is the file
        moved into place, so client data never sits under its final name without a record of who took it."""
        if kind not in KINDS:
            raise InvalidInput(f"There is no export called {kind!r}; choose one of {', '.join(KINDS)}.")
        path = Path(path)
        partial = path.with_name(path.name + ".part")
        written = 0
        try:
            with self.ctx.db.read() as s:
                if not self.ctx.db.is_sqlite:
                    # One snapshot for every batch (SQLite's read transaction already is one).
                    s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                require(s, actor, Permission.export_data)
                with open_private(partial) as f:
                    source = _users(s, shown) if kind == "users" else KINDS[kind](s)
                    total = s.scalar(source.count_rows) or 0
                    writer = csv.writer(f)
                    writer.writerow(source.header)
                    for row in source.rows:
                        writer.writerow([_cell(v) for v in row])
                        written += 1
                        if progress is not None and written % BATCH == 0 and progress(written, total) is False:
                            raise ExportCancelled("The export was cancelled; no file was written.")
            if progress is not None:
                progress(written, max(total, written))
            with self.ctx.db.write() as s:
                require(s, actor, Permission.export_data)
                # Exports carry client data out of the console: who took what, and when, is on record.
                audit.record(s, at=self.ctx.clock.now(), actor=actor.username, action="data.exported",
                             summary=f"{written:,} {KIND_LABELS[kind]} exported to {path.name}"
                                     + (f" (as listed: {describe(shown)})" if shown is not None else ""),
                             details={"kind": kind, "rows": written, "file": path.name,
                                      **({"filter": describe(shown)} if shown is not None else {})})
            os.replace(partial, path)
        except OSError as exc:
            raise InvalidInput(f"The export could not be written to {path} ({exc.strerror or exc}). "
                               f"Choose a folder you may write to.") from None
        finally:
            if partial.exists():
                partial.unlink()
        return ExportResult(kind, str(path), written)
