"""What every service is built with: the database, a clock, the secret box and who is acting."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    db: Database
    box: SecretBox
    clock: Clock = SystemClock()
