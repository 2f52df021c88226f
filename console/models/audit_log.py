"""Reading the audit trail: filtered keyset windows (newest first), CSV export, verification by role."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from console.models import audit
from console.models.arguments import checked_arguments
from console.models.context import Actor, ServiceContext
from console.models.db import MAX_ID
from console.models.directory import searchable
from console.models.entities import Account, AuditEntry, SecurityDevice, User
from console.models.errors import InvalidInput
from console.models.permissions import Permission, require

CSV_COLUMNS = ("id", "at", "actor", "action", "account_id", "user_id", "device_id", "summary", "details",
               "prev_hash", "entry_hash")
EXPORT_BATCH = 5000


@dataclass(frozen=True)
class AuditFilter:
    """What the audit view shows: staff member, action (exact, or a prefix ending in '.'), client username,
    and a time range [since, until)."""

    staff: str = ""
    action: str = ""
    username: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: dt.datetime
    actor: str
    action: str
    account_id: int | None
    user_id: int | None
    device_id: int | None
    summary: str
    details: str
    prev_hash: str
    entry_hash: str
    username: str | None = None
    account_number: str | None = None
    device: str | None = None  # the device's serial (its kind when it has none), as staff know it


def _csv_safe(value: object) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: quote it so the export is only data.
    text = "" if value is None else (value.isoformat() if isinstance(value, dt.datetime) else str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@checked_arguments
class AuditLog:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _where(self, s: Session, f: AuditFilter) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if f.staff.strip():
            conditions.append(AuditEntry.actor == searchable(f.staff).strip().lower()[:64])
        action = searchable(f.action).strip().lower()[:64]
        if action.endswith("."):
            conditions += [AuditEntry.action >= action, AuditEntry.action < action[:-1] + "/"]  # '/' follows '.'
        elif action:
            conditions.append(AuditEntry.action == action)
        if f.username.strip():
            name = searchable(f.username).strip().lower()[:64]
            user_id = s.scalar(select(User.id).where(User.username == name))
            conditions.append(AuditEntry.user_id == (user_id if user_id is not None else -1))
        if f.since and f.until and f.since >= f.until:
            raise InvalidInput("The start of the period must be before its end.")
        if f.since:
            conditions.append(AuditEntry.at >= f.since)
        if f.until:
            conditions.append(AuditEntry.at < f.until)
        return conditions

    def window(self, actor: Actor, f: AuditFilter, before_id: int | None = None, limit: int = 200) -> list[AuditRow]:
        """Up to `limit` entries matching `f`, newest first, older than `before_id` (keyset paging)."""
        with self.ctx.db.read() as s:
            require(s, actor, Permission.view)
            stmt = (select(AuditEntry, User.username, Account.number, SecurityDevice.kind, SecurityDevice.serial)
                    .outerjoin(User, User.id == AuditEntry.user_id)
                    .outerjoin(Account, Account.id == AuditEntry.account_id)
                    .outerjoin(SecurityDevice, SecurityDevice.id == AuditEntry.device_id)
                    .where(*self._where(s, f)))
            if before_id is not None:
                stmt = stmt.where(AuditEntry.id < min(max(before_id, 0), MAX_ID))
            rows = s.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit)).all()
            return [AuditRow(e.id, e.at, e.actor, e.action, e.account_id, e.user_id, e.device_id, e.summary, e.details,
                             e.prev_hash, e.entry_hash, username=u, account_number=a,
                             device=serial or (kind.label if kind is not None else None))
                    for e, u, a, kind, serial in rows]

    def actions(self, actor: Actor) -> list[str]:
        """Every action recorded so far (for the filter's list)."""
        with self.ctx.db.read() as s:
            require(s, actor, Permission.view)
            return list(s.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))

    def staff_names(self, actor: Actor) -> list[str]:
        with self.ctx.db.read() as s:
            require(s, actor, Permission.view)
            return list(s.scalars(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)))

    def _all(self, actor: Actor, f: AuditFilter) -> Iterator[AuditRow]:
        before = None
        while True:
            rows = self.window(actor, f, before, EXPORT_BATCH)
            yield from rows
            if len(rows) < EXPORT_BATCH:
                return
            before = rows[-1].id

    def export_csv(self, actor: Actor, f: AuditFilter, out: IO[str]) -> int:
        """Write the matching entries (every field, hashes included) as CSV; returns how many."""
        with self.ctx.db.read() as s:
            require(s, actor, Permission.export_data)
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        n = 0
        for row in self._all(actor, f):
            writer.writerow([_csv_safe(getattr(row, c)) for c in CSV_COLUMNS])
            n += 1
        return n

    def verify(self, actor: Actor) -> audit.VerifyResult:
        with self.ctx.db.read() as s:
            require(s, actor, Permission.verify_audit)
            return audit.verify(s)
