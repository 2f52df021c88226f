"""The application-wide change bus: what changed (kind and ids), announced once, heard by every open window.

Who publishes:
- the operation runner (console/views/operations.py), after every write it ran on this desk;
- any other source of changes, e.g. a watcher of changes committed by other consoles (PostgreSQL
  LISTEN/NOTIFY, SQLite ``PRAGMA data_version``). ``ChangeBus.publish`` may be called from any thread:
  delivery always happens on the GUI thread, so a watcher thread publishes directly.

Who listens: every window that shows data. It connects ``bus.changed`` to a bound method (so the connection
ends with the window), asks ``changes.touches(kind, id)`` about what it shows, and refreshes that alone,
keeping the agent's selection and scroll position. A window never refreshes another window by hand.

Example::

    bus.changed.connect(self.on_changes)
    bus.publish(Changes.of(devices=[device_id], users=[user_id]))               # this desk
    bus.publish(Changes.of(users=[7], origin=Origin.other_desk))                 # seen from another console
    bus.publish(Changes.everything(Origin.other_desk))                           # "something changed": reload all
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal


class ChangeKind(enum.Enum):
    """What kind of record changed; windows refresh by kind."""

    users = "users"          # a user's SLS state, restrictions, rights, devices held
    devices = "devices"      # a device's state, holders, lock, dates
    stock = "stock"          # DSC+ cards received into stock (no holder yet)
    charges = "charges"      # charges and reserves of an account (ids are charge ids)
    accounts = "accounts"    # accounts and their users, as an import adds them
    staff = "staff"          # staff members and their sign-in
    settings = "settings"    # the service figures
    audit = "audit"          # the audit trail (every write appends to it)


class Origin(enum.Enum):
    this_desk = "this desk"
    other_desk = "another desk"


@dataclass(frozen=True)
class Change:
    """One kind of record and the ids that changed; no ids means "some, not known which": refresh them all."""

    kind: ChangeKind
    ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Changes:
    """What one write (or one notice from another desk) changed."""

    items: tuple[Change, ...] = ()
    origin: Origin = Origin.this_desk
    initiator: object | None = field(default=None, compare=False)  # the window that asked, if it wants to know

    @classmethod
    def of(cls, *, users: Iterable[int] = (), devices: Iterable[int] = (), charges: Iterable[int] = (),
           kinds: Iterable[ChangeKind] = (), origin: Origin = Origin.this_desk) -> Changes:
        """Changes naming ids by kind; `kinds` adds kinds whose ids are not known (refresh all of them)."""
        items = [Change(kind, frozenset(int(i) for i in ids)) for kind, ids in
                 ((ChangeKind.users, users), (ChangeKind.devices, devices), (ChangeKind.charges, charges))
                 if ids]
        items += [Change(kind) for kind in kinds]
        return cls(tuple(items), origin)

    @classmethod
    def everything(cls, origin: Origin = Origin.other_desk) -> Changes:
        return cls(tuple(Change(kind) for kind in ChangeKind), origin)

    def merged(self, other: Changes) -> Changes:
        return Changes(self.items + other.items, self.origin, self.initiator)

    def with_kinds(self, *kinds: ChangeKind) -> Changes:
        return Changes(self.items + tuple(Change(k) for k in kinds), self.origin, self.initiator)

    def touches(self, kind: ChangeKind, record_id: int | None = None) -> bool:
        """Whether a window showing `record_id` of `kind` (or any of `kind`, when None) must refresh."""
        for change in self.items:
            if change.kind is kind and (record_id is None or not change.ids or record_id in change.ids):
                return True
        return False

    def ids(self, kind: ChangeKind) -> frozenset[int]:
        return frozenset().union(*(c.ids for c in self.items if c.kind is kind))

    def __bool__(self) -> bool:
        return bool(self.items)

    def describe(self) -> str:
        """For the log: "users 3, 7; devices 12; audit"."""
        parts = []
        for change in self.items:
            ids = ", ".join(str(i) for i in sorted(change.ids))
            parts.append(f"{change.kind.value} {ids}".strip())
        return "; ".join(parts) + f" ({self.origin.value})"


class ChangeBus(QObject):
    """One per application. ``changed(Changes)`` is emitted on the GUI thread; ``publish`` works from any thread."""

    changed = Signal(object)
    _incoming = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("changeBus")
        self.published: list[Changes] = []  # the most recent announcements, newest last (for the log and tests)
        # Emitted from another thread, the queued connection delivers on the thread this bus lives in (the GUI).
        self._incoming.connect(self._deliver)

    def publish(self, changes: Changes) -> None:
        if changes:
            self._incoming.emit(changes)

    def _deliver(self, changes: Changes) -> None:
        self.published = [*self.published[-49:], changes]
        self.changed.emit(changes)
