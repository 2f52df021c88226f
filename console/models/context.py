"""What every service is built with: the database, a clock, the secret box and who is acting."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from console.models.clock import Clock, SystemClock
from console.models.db import Database
from console.models.enums import StaffRole
from console.models.sealing import SecretBox


@dataclass(frozen=True)
class Actor:
    """The staff member on whose behalf a service acts; recorded in every audit entry.

    Only a successful sign-in (console.models.sessions) makes a usable one: it carries the session's id and
    random token, and every service re-checks both, with the staff member's current row, in its own
    transaction. An Actor built by hand has no valid token and is refused."""

    username: str
    full_name: str
    role: StaffRole
    session_id: int | None = field(default=None, compare=False)
    token: str = field(default="", repr=False, compare=False)
    clock: Clock = field(default_factory=SystemClock, repr=False, compare=False)


@dataclass
class ServiceContext:
    """`reader` is the desk's signed-in Actor: the services a desk is built with (app.Services) check it in
    every read as writes check theirs. A context without one (the command line's own commands, tests of the
    rules) reads unchecked: whoever runs it holds the database and its key already."""

    db: Database
    box: SecretBox
    clock: Clock = SystemClock()
    reader: Actor | None = None

    def for_desk(self, actor: Actor) -> ServiceContext:
        """The same database, key and clock, with reads checked against `actor`'s session."""
        return dataclasses.replace(self, reader=actor)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read transaction that first refuses (SessionEnded, PermissionDenied) when the desk's session may no
        longer view: signed out, idle, deactivated, locked, or a role without the view permission."""
        with self.db.read() as s:
            self.check_reader(s)
            yield s

    def check_reader(self, s: Session) -> None:
        """read()'s check, for a read that opens its transaction itself (the users list's interruptible reads)."""
        from console.models.permissions import Permission, require

        if self.reader is not None:
            require(s, self.reader, Permission.view)
