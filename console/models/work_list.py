"""What needs someone today: one source per kind of work, each an indexed query, most urgent first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from console.models.arguments import checked_arguments
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.entities import Account, DeviceHolding, SecurityDevice, SharingRequest, StaffMember, User
from console.models.enums import DeviceState, SharingRequestState, SlsState
from console.models.permissions import ROLE_PERMISSIONS, Permission, current_role, require
from console.models.settings import Figures, load_figures

ROWS_PER_SOURCE = 200  # the most urgent rows of each kind; the count says how many there are in all


@dataclass(frozen=True)
class WorkItem:
    source: str  # a key of SOURCES
    title: str
    detail: str
    due_at: dt.datetime | None
    user_id: int | None = None
    username: str | None = None
    device_id: int | None = None
    serial: str | None = None
    account_number: str | None = None
    request_id: int | None = None  # a sharing request waiting for compliance
    staff_username: str | None = None  # a staff member whose sign-in is locked (administrators only)

    @property
    def opens(self) -> str:
        """The screen where the work is done: the Staff window, the request in the sharing queue, the device in
        the devices list, else the user."""
        if self.staff_username is not None:
            return "staff"
        if self.request_id is not None:
            return "sharing_request"
        return "device" if self.device_id is not None else "user"


@dataclass(frozen=True)
class WorkSection:
    source: str
    title: str
    total: int
    items: tuple[WorkItem, ...]


Source = Callable[[Session, dt.datetime, Figures], tuple[int, list[WorkItem]]]


def _holder(s: Session, device_ids: list[int]) -> dict[int, tuple[int, str]]:
    """One holder (user id, username) per device, for the rows shown."""
    out: dict[int, tuple[int, str]] = {}
    if device_ids:
        for device_id, user_id, username in s.execute(
                select(DeviceHolding.device_id, User.id, User.username).join(User, User.id == DeviceHolding.user_id)
                .where(DeviceHolding.device_id.in_(device_ids)).order_by(User.username)):
            out.setdefault(device_id, (user_id, username))
    return out


class Described(NamedTuple):
    """How one device shows in the work list."""

    title: str
    detail: str
    due_at: dt.datetime | None


def _device_items(s: Session, source: str, where: tuple[ColumnElement[bool], ...],
                  order: tuple[InstrumentedAttribute[Any], ...],
                  describe: Callable[[SecurityDevice], Described]) -> tuple[int, list[WorkItem]]:
    total = s.scalar(select(func.count()).select_from(SecurityDevice).where(*where)) or 0
    rows = s.execute(select(SecurityDevice, Account.number).outerjoin(Account, Account.id == SecurityDevice.account_id)
                     .where(*where).order_by(*order).limit(ROWS_PER_SOURCE)).all()
    holders = _holder(s, [d.id for d, _ in rows])
    items = []
    for d, number in rows:
        user_id, username = holders.get(d.id, (None, None))
        title, detail, due = describe(d)
        items.append(WorkItem(source, title, detail, due, user_id, username, d.id, d.serial, number))
    return total, items


def _days(delta: dt.timedelta) -> str:
    days = abs(delta.days)
    return f"{days} day{'s' if days != 1 else ''}"


def shipped_near_deadline(s: Session, now: dt.datetime, fig: Figures) -> tuple[int, list[WorkItem]]:
    """Mailed DSC+ cards not activated whose activation date is near or past: call the client."""
    horizon = now + dt.timedelta(days=fig.activation_warning_days)
    where = (SecurityDevice.state == DeviceState.shipped, SecurityDevice.activation_due_at < horizon)

    def describe(d: SecurityDevice) -> Described:
        due = d.activation_due_at
        assert due is not None  # the query selects devices with an activation date
        late, early = now - due, due - now
        when = ("due today" if abs(late.days if due < now else early.days) == 0
                else f"{_days(late)} late" if due < now else f"due in {_days(early)}")
        return Described(f"DSC+ {d.serial} not activated ({when})",
                         f"Shipped {d.shipped_at:%Y-%m-%d}; activation due {due:%Y-%m-%d}" if d.shipped_at else "",
                         due)
    return _device_items(s, "shipped", where, (SecurityDevice.activation_due_at,), describe)


def returns_overdue(s: Session, now: dt.datetime, fig: Figures) -> tuple[int, list[WorkItem]]:
    """Devices expected back whose return date has passed: chase the return, or charge it."""
    where = (SecurityDevice.state == DeviceState.return_pending, SecurityDevice.return_due_at < now)

    def describe(d: SecurityDevice) -> Described:
        due = d.return_due_at
        assert due is not None  # the query selects devices with a return date
        return Described(f"{d.kind.label} {d.serial or ''} return overdue by {_days(now - due)}".replace("  ", " "),
                         f"Return was due {due:%Y-%m-%d}", due)
    return _device_items(s, "returns", where, (SecurityDevice.return_due_at,), describe)


def locked_devices(s: Session, now: dt.datetime, fig: Figures) -> tuple[int, list[WorkItem]]:
    """Devices locked after repeated wrong codes: the client cannot log in with them until staff unlock."""
    where = (SecurityDevice.locked == True,)  # noqa: E712 - the partial index ix_devices_locked reads "locked = 1"

    def describe(d: SecurityDevice) -> Described:
        return Described(f"{d.kind.label} {d.serial or ''} locked".replace("  ", " "),
                         f"Locked after {d.failed_attempts} wrong codes; unlock after verifying the caller", None)
    return _device_items(s, "locked", where, (SecurityDevice.id,), describe)


def users_without_device(s: Session, now: dt.datetime, fig: Figures) -> tuple[int, list[WorkItem]]:
    """Users with nothing to log in with: those the expiry of their last temporary access moved to "No active
    device" (UserDirectory.without_active_device), and any counted as enrolled with no active device (data
    written outside the services). Staff issue temporary access or start an opt-in."""
    where = (or_(User.sls_state == SlsState.no_device,
                 and_(User.sls_state == SlsState.enrolled, User.active_devices == 0)),)
    total = s.scalar(select(func.count()).select_from(User).where(*where)) or 0
    ids_stmt = select(User.id).where(*where)
    if total <= 20 * ROWS_PER_SOURCE:
        # Few: read their ids from the (state, devices) index. With ORDER BY id ... LIMIT, PostgreSQL walks the
        # primary key instead (it expects a sixth of all users to match) and reads every user when none does.
        ids = sorted(s.scalars(ids_stmt))[:ROWS_PER_SOURCE]
    else:
        ids = list(s.scalars(ids_stmt.order_by(User.id).limit(ROWS_PER_SOURCE)))
    rows = s.execute(select(User.id, User.username, User.full_name, Account.number)
                     .join(Account, Account.id == User.account_id).where(User.id.in_(ids))
                     .order_by(User.id)).all() if ids else []
    return total, [WorkItem("no_device", f"{username} ({name}) has no active device",
                            "Offer temporary access or a new device", None, user_id, username, None, None, number)
                   for user_id, username, name, number in rows]


def sharing_awaiting_approval(s: Session, now: dt.datetime, fig: Figures) -> tuple[int, list[WorkItem]]:
    """Sharing requests waiting for a compliance reviewer, oldest first (decided in the sharing queue)."""
    where = (SharingRequest.state == SharingRequestState.pending,)
    total = s.scalar(select(func.count()).select_from(SharingRequest).where(*where)) or 0
    rows = s.execute(select(SharingRequest.requested_at, SharingRequest.why_review, User.id, User.username,
                            User.full_name, Account.number, SharingRequest.id)
                     .join(User, User.id == SharingRequest.user_id).join(Account, Account.id == User.account_id)
                     .where(*where).order_by(SharingRequest.requested_at, SharingRequest.id)
                     .limit(ROWS_PER_SOURCE)).all()
    return total, [WorkItem("sharing", f"{username} ({name}) asks to share a device",
                            f"Waiting for compliance since {at:%Y-%m-%d %H:%M} ({why})", at, user_id, username, None,
                            None, number, request_id)
                   for at, why, user_id, username, name, number, request_id in rows]


def locked_staff(s: Session, now: dt.datetime, fig: Figures) -> tuple[int, list[WorkItem]]:
    """Staff members whose sign-in is locked after failed attempts (the staff table is small), locked first
    first: an administrator unlocks them in the Staff window once the member is known to be who tried."""
    rows = s.execute(select(StaffMember.username, StaffMember.full_name, StaffMember.failed_signins,
                            StaffMember.locked_until)
                     .where(StaffMember.locked_until > now, StaffMember.failed_signins >= fig.staff_signin_failures)
                     .order_by(StaffMember.locked_until, StaffMember.username)).all()
    items = []
    for username, name, failures, until in rows:
        assert until is not None  # the query selects locked members
        since = until - dt.timedelta(minutes=fig.staff_lock_minutes)
        items.append(WorkItem("staff_locked", f"Staff member {username} locked at {since:%H:%M} UTC after {failures} "
                              f"failed sign-ins — unlock in Staff",
                              f"{name}; the lock ends by itself at {until:%H:%M} UTC", since, staff_username=username))
    return len(items), items


# One function per kind of work; later kinds are added here.
SOURCES: dict[str, tuple[str, Source]] = {
    "shipped": ("Shipped DSC+ near or past the activation date", shipped_near_deadline),
    "returns": ("Returns overdue", returns_overdue),
    "no_device": ("Users with no active device", users_without_device),
    "locked": ("Locked devices", locked_devices),
    "sharing": ("Sharing requests awaiting compliance approval", sharing_awaiting_approval),
}
# Kinds of work only some roles see: the permission each needs (the role read at the time, not at sign-in).
RESTRICTED_SOURCES: dict[str, tuple[str, Source, Permission]] = {
    "staff_locked": ("Staff members locked out", locked_staff, Permission.manage_staff),
}


@checked_arguments
@retries_conflicts
class WorkListService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def today(self, actor: Actor) -> list[WorkSection]:
        """Every kind of work with its count and its most urgent rows."""
        now = self.ctx.clock.now()
        with self.ctx.db.read() as s:
            require(s, actor, Permission.view)
            fig = load_figures(s)
            granted = ROLE_PERMISSIONS[current_role(s, actor)]
            sections = []
            for key, (title, source) in SOURCES.items():
                total, items = source(s, now, fig)
                sections.append(WorkSection(key, title, total, tuple(items)))
            for key, (title, source, needs) in RESTRICTED_SOURCES.items():
                if needs in granted:
                    total, items = source(s, now, fig)
                    sections.insert(0, WorkSection(key, title, total, tuple(items)))
            return sections
