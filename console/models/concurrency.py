"""Optimistic concurrency: a desk acting on what it showed is refused when another desk changed it since."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, object_session

from console.models.entities import Account, AuditEntry, Charge, SecurityDevice, SharingRequest, StaffMember, User
from console.models.errors import ConcurrentChange


class Versioned(Protocol):
    """An entity carrying the version counter every write bumps."""

    @property
    def version(self) -> int: ...


def require_version(row: Versioned, expected_version: int | None, what: str) -> None:
    """Refuse, changing nothing, when `row` (a versioned entity loaded in the write transaction) is no
    longer at the version the desk displayed, saying what changed it, who and when. None means the caller
    has no displayed copy to compare."""
    if expected_version is None or row.version == expected_version:
        return
    session = object_session(row)
    _refuse(last_change(session, _about(row)) if session is not None else None, what)


def require_unchanged(session: Session, about: ColumnElement[bool] | None, current: int,
                      shown: int | None, what: str) -> None:
    """The same refusal for a version computed over several rows (e.g. an account with its users and devices);
    `about` selects the audit entries that may name the change."""
    if shown is None or shown == current:
        return
    _refuse(last_change(session, about), what)


def _refuse(last: str | None, what: str) -> None:
    raise ConcurrentChange(
        f"Another desk changed {what} while you were working on it{f': {last}' if last else ''}. The view has "
        f"been refreshed with the current state; check it and try again.")


def require_setting(session: Session, key: str, label: str, shown: int | None, current: int) -> None:
    """Refuse a figure's change when the desk was shown another value than the one stored now."""
    if shown is None or shown == current:
        return
    last = last_change(session, AuditEntry.details.contains(f'"key":"{key}"'), action="settings.changed")
    raise ConcurrentChange(
        f"Another desk changed {label} while you were working on it{f': {last}' if last else ''}. The settings "
        f"have been refreshed with the current values; check them and try again.")


def _about(row: Versioned) -> ColumnElement[bool] | None:
    if isinstance(row, User):
        return AuditEntry.user_id == row.id
    if isinstance(row, SecurityDevice):
        return AuditEntry.device_id == row.id
    if isinstance(row, Account):
        return AuditEntry.account_id == row.id
    if isinstance(row, Charge):
        return _detail_is(AuditEntry.details, "charge_id", row.id)
    if isinstance(row, SharingRequest):
        return _detail_is(AuditEntry.details, "request_id", row.id)
    if isinstance(row, StaffMember):
        return AuditEntry.details.contains(f'"staff":"{row.username}"')
    return None


def _detail_is(details: Any, key: str, value: int) -> ColumnElement[bool]:
    """An audit entry whose details carry key = value (written as compact JSON, keys sorted: the pair is followed
    by "," or by the closing "}")."""
    pair = f'"{key}":{value}'
    return or_(details.contains(pair + ","), details.contains(pair + "}"))


def last_change(session: Session, about: ColumnElement[bool] | None, action: str | None = None) -> str | None:
    """The newest audit entry about a record, as "<summary> (by <full name> at HH:MM)"."""
    if about is None:
        return None
    stmt = select(AuditEntry).where(about)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    entry = session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(1)).first()
    if entry is None:
        return None
    who = session.scalar(select(StaffMember.full_name).where(StaffMember.username == entry.actor)) or entry.actor
    return f"{entry.summary} (by {who} at {entry.at.astimezone().strftime('%H:%M')})"
