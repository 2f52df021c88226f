"""Reading users: filtered, sorted windows for the list, counts per state, and one user's details."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from console.models.context import ServiceContext
from console.models.db import is_row_id
from console.models.entities import (
    Account,
    AuditEntry,
    DeviceHolding,
    SecurityDevice,
    User,
    UserRestriction,
)
from console.models.enums import DeviceState, Restriction, SlsState, UserRole
from console.models.errors import NotFound
from console.models.rights import rights_holder

SORT_COLUMNS = {
    "username": User.username,
    "full_name": User.name_key,
    "account": Account.number,
    "role": User.role,
    "sls_state": User.sls_state,
    "active_devices": User.active_devices,
}


@dataclass(frozen=True)
class UserQuery:
    """What the list shows: a text filter (username, name or account prefix), a state, a sort."""

    text: str = ""
    state: SlsState | None = None
    sort: str = "username"
    descending: bool = False

    def normalized_text(self) -> str:
        return re.sub(r"\s+", " ", searchable(self.text).strip().lower())[:MAX_FILTER_TEXT]


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    full_name: str
    account_number: str
    role: UserRole
    sls_state: SlsState
    active_devices: int
    restrictions: tuple[Restriction, ...] = ()


@dataclass(frozen=True)
class DeviceSummary:
    id: int
    kind_label: str
    serial: str | None
    state: DeviceState
    preferred: bool
    locked: bool
    shared_with: tuple[str, ...]
    activated_at: dt.datetime | None
    expires_at: dt.datetime | None
    return_due_at: dt.datetime | None


@dataclass(frozen=True)
class AuditLine:
    id: int
    at: dt.datetime
    actor: str
    action: str
    summary: str


@dataclass(frozen=True)
class UserDetails:
    id: int
    username: str
    full_name: str
    role: UserRole
    sls_state: SlsState
    account_id: int
    account_number: str
    account_kind: str
    account_title: str
    rights_holder_name: str | None
    rights_holder_username: str | None
    holds_rights: bool
    version: int
    devices: tuple[DeviceSummary, ...] = ()
    restrictions: tuple[Restriction, ...] = ()
    recent_audit: tuple[AuditLine, ...] = field(default_factory=tuple)


MAX_FILTER_TEXT = 200


def searchable(text: str) -> str:
    """Text as the database can compare it: without control characters (NUL is refused by PostgreSQL),
    lone surrogates (not encodable) or unassigned code points (no name contains them)."""
    return "".join(ch for ch in (text or "") if unicodedata.category(ch) not in ("Cc", "Cs", "Cn"))


def _next_prefix(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def prefix_range(column, prefix: str):
    """`column` starts with `prefix`, as an index range (LIKE would scan, see platform-notes.md)."""
    return and_(column >= prefix, column < _next_prefix(prefix))


def _text_condition(text: str):
    if not text:
        return None
    conditions = [prefix_range(User.username, text), prefix_range(User.name_key, text)]
    if re.fullmatch(r"u\d*", text) or text.isdigit():
        number = text.upper() if text.startswith("u") else text
        accounts = select(Account.id).where(prefix_range(Account.number, number))
        conditions.append(User.account_id.in_(accounts.scalar_subquery()))
    return or_(*conditions)


def _filtered(stmt, query: UserQuery, with_state: bool = True):
    cond = _text_condition(query.normalized_text())
    if cond is not None:
        stmt = stmt.where(cond)
    if with_state and query.state is not None:
        stmt = stmt.where(User.sls_state == query.state)
    return stmt


class UserDirectory:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def count(self, query: UserQuery) -> int:
        with self.ctx.db.read() as s:
            return s.scalar(_filtered(select(func.count()).select_from(User), query)) or 0

    def counts_by_state(self, query: UserQuery = UserQuery()) -> dict[SlsState, int]:
        """Users per SLS state under the query's text filter (its state filter is ignored)."""
        with self.ctx.db.read() as s:
            stmt = _filtered(select(User.sls_state, func.count()).group_by(User.sls_state), query, False)
            counts = {state: 0 for state in SlsState}
            counts.update({state: n for state, n in s.execute(stmt)})
            return counts

    def window(self, query: UserQuery, offset: int, limit: int) -> list[UserRow]:
        if query.sort not in SORT_COLUMNS:
            raise ValueError(f"unknown sort column {query.sort!r}")
        key = SORT_COLUMNS[query.sort]
        order = [key.desc(), User.id.desc()] if query.descending else [key, User.id]
        stmt = (select(User.id, User.username, User.full_name, Account.number, User.role, User.sls_state,
                       User.active_devices)
                .join(Account, Account.id == User.account_id))
        stmt = _filtered(stmt, query).order_by(*order).offset(offset).limit(limit)
        with self.ctx.db.read() as s:
            rows = s.execute(stmt).all()
            restrictions = _restrictions_of(s, [r[0] for r in rows])
        return [UserRow(*r, restrictions=restrictions.get(r[0], ())) for r in rows]

    def details(self, user_id: int, audit_limit: int = 15) -> UserDetails:
        with self.ctx.db.read() as s:
            user = s.get(User, user_id) if is_row_id(user_id) else None
            if user is None:
                raise NotFound(f"User #{user_id} no longer exists; refresh the list.")
            account = user.account
            holder = rights_holder(s, account)
            devices = tuple(_device_summaries(s, user))
            audit = tuple(AuditLine(e.id, e.at, e.actor, e.action, e.summary) for e in s.scalars(
                select(AuditEntry).where(AuditEntry.user_id == user.id)
                .order_by(AuditEntry.id.desc()).limit(audit_limit)))
            return UserDetails(
                id=user.id, username=user.username, full_name=user.full_name, role=user.role,
                sls_state=user.sls_state, account_id=account.id, account_number=account.number,
                account_kind=account.kind.value, account_title=account.title,
                rights_holder_name=holder.full_name if holder else None,
                rights_holder_username=holder.username if holder else None,
                holds_rights=holder is not None and holder.id == user.id, version=user.version,
                devices=devices, restrictions=_restrictions_of(s, [user.id]).get(user.id, ()),
                recent_audit=audit)

    def find_by_username(self, username: str) -> int | None:
        name = (username or "").strip().lower()
        if not name or searchable(name) != name or len(name) > 64:
            return None  # no username holds such characters
        with self.ctx.db.read() as s:
            return s.scalar(select(User.id).where(User.username == name))


def _restrictions_of(s: Session, user_ids: list[int]) -> dict[int, tuple[Restriction, ...]]:
    if not user_ids:
        return {}
    out: dict[int, list[Restriction]] = {}
    for uid, r in s.execute(select(UserRestriction.user_id, UserRestriction.restriction)
                            .where(UserRestriction.user_id.in_(user_ids), UserRestriction.lifted_at.is_(None))
                            ):
        out.setdefault(uid, []).append(r)
    order = list(Restriction)
    return {k: tuple(sorted(v, key=order.index)) for k, v in out.items()}


def _device_summaries(s: Session, user: User):
    holdings = s.scalars(select(DeviceHolding).where(DeviceHolding.user_id == user.id)
                         .order_by(DeviceHolding.preferred.desc(), DeviceHolding.since)).all()
    for h in holdings:
        d: SecurityDevice = h.device
        others = s.scalars(select(User.username).join(DeviceHolding, DeviceHolding.user_id == User.id)
                           .where(DeviceHolding.device_id == d.id, User.id != user.id)
                           .order_by(User.username)).all()
        yield DeviceSummary(d.id, d.kind.label, d.serial, d.state, h.preferred, d.locked, tuple(others),
                            d.activated_at, d.expires_at, d.return_due_at)
