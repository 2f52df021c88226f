"""Reading the devices list: filters in SQL, windows of rows with their holders, dates and due flags."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TypeVarTuple

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from console.models.db import is_row_id
from console.models.entities import Account, DeviceHolding, SecurityDevice, User
from console.models.enums import DeviceKind, DeviceState, ReturnReason
from console.models.errors import NotFound

_Ts = TypeVarTuple("_Ts")


@dataclass(frozen=True)
class DeviceQuery:
    kind: DeviceKind | None = None
    state: DeviceState | None = None
    serial_prefix: str = ""
    overdue: bool = False  # only devices expected back whose return date has passed
    required_at_login: bool = False  # only mailed devices past their activation window, not yet activated


@dataclass(frozen=True)
class DeviceRow:
    id: int
    kind: DeviceKind
    serial: str | None
    state: DeviceState
    account_number: str | None
    holders: tuple[str, ...]
    received_at: dt.datetime | None
    issued_at: dt.datetime | None
    activated_at: dt.datetime | None
    activation_due_at: dt.datetime | None
    return_due_at: dt.datetime | None
    returned_at: dt.datetime | None
    return_reason: ReturnReason | None
    locked: bool
    due_passed: bool = False  # the activation or return date shown in "Due" is in the past
    required_at_login_since: dt.datetime | None = None  # mailed, not activated in time: required at login
    version: int = 0  # sent back with a write, so a change made at another desk since is refused

    @property
    def state_label(self) -> str:
        """The state as the lists show it: a shipped card past its window says it is required at login."""
        if self.state is DeviceState.shipped and self.required_at_login_since is not None:
            return "Shipped · required at login"
        return self.state.label

    @property
    def due_at(self) -> dt.datetime | None:
        return due_date(self.state, self.activation_due_at, self.return_due_at)


def due_date(state: DeviceState, activation_due_at: dt.datetime | None,
             return_due_at: dt.datetime | None) -> dt.datetime | None:
    """The date that matters now: activation for a shipped card, return for one expected back."""
    if state is DeviceState.shipped:
        return activation_due_at
    if state is DeviceState.return_pending:
        return return_due_at
    return None


def _filtered(stmt: Select[*_Ts], query: DeviceQuery, now: dt.datetime) -> Select[*_Ts]:
    if query.kind is not None:
        stmt = stmt.where(SecurityDevice.kind == query.kind)
    if query.state is not None:
        stmt = stmt.where(SecurityDevice.state == query.state)
    if query.overdue:
        stmt = stmt.where(SecurityDevice.state == DeviceState.return_pending, SecurityDevice.return_due_at < now)
    if query.required_at_login:
        stmt = stmt.where(SecurityDevice.state == DeviceState.shipped,
                          SecurityDevice.required_at_login_since.is_not(None))
    prefix = query.serial_prefix.strip().upper()
    if prefix:
        # A range on the unique serial index (LIKE would scan, docs/platform-notes.md).
        stmt = stmt.where(and_(SecurityDevice.serial >= prefix,
                               SecurityDevice.serial < prefix[:-1] + chr(ord(prefix[-1]) + 1)))
    return stmt


def count(s: Session, query: DeviceQuery, now: dt.datetime) -> int:
    return s.scalar(_filtered(select(func.count()).select_from(SecurityDevice), query, now)) or 0


def offset_of(s: Session, query: DeviceQuery, device_id: int, now: dt.datetime) -> int | None:
    """Where a device sits in the query's order, newest first (None when the query does not list it): one lookup
    by primary key, then one count of the newer ones it lists, never a walk through the rows."""
    if not is_row_id(device_id):
        return None
    ids = select(SecurityDevice.id).select_from(SecurityDevice)
    if s.scalar(_filtered(ids, query, now).where(SecurityDevice.id == device_id)) is None:
        return None
    newer = _filtered(select(func.count()).select_from(SecurityDevice), query, now)
    return s.scalar(newer.where(SecurityDevice.id > device_id)) or 0


def window(s: Session, query: DeviceQuery, offset: int, limit: int, now: dt.datetime) -> list[DeviceRow]:
    """One window of devices, newest first; holders fetched for that window only (one query)."""
    stmt = select(SecurityDevice, Account.number).outerjoin(Account, Account.id == SecurityDevice.account_id)
    stmt = _filtered(stmt, query, now).order_by(SecurityDevice.id.desc()).offset(offset).limit(limit)
    rows = s.execute(stmt).all()
    holders: dict[int, list[str]] = {}
    ids = [d.id for d, _ in rows]
    if ids:
        for device_id, username in s.execute(
                select(DeviceHolding.device_id, User.username).join(User, User.id == DeviceHolding.user_id)
                .where(DeviceHolding.device_id.in_(ids)).order_by(User.username)):
            holders.setdefault(device_id, []).append(username)
    return [_row(d, number, tuple(holders.get(d.id, ())), now) for d, number in rows]


def one(s: Session, device_id: int, now: dt.datetime) -> DeviceRow:
    d = s.get(SecurityDevice, device_id)
    if d is None:
        raise NotFound(f"Device {device_id} does not exist.")
    number = d.account.number if d.account else None
    names = tuple(s.scalars(select(User.username).join(DeviceHolding, DeviceHolding.user_id == User.id)
                            .where(DeviceHolding.device_id == device_id).order_by(User.username)))
    return _row(d, number, names, now)


def _row(d: SecurityDevice, number: str | None, holders: tuple[str, ...], now: dt.datetime) -> DeviceRow:
    row = DeviceRow(d.id, d.kind, d.serial, d.state, number, holders, d.received_at, d.issued_at, d.activated_at,
                    d.activation_due_at, d.return_due_at, d.returned_at, d.return_reason, d.locked,
                    required_at_login_since=d.required_at_login_since)
    return dataclasses.replace(row, due_passed=row.due_at is not None and row.due_at < now, version=d.version)
