"""What every service is built with: the database, a clock, the secret box and who is acting."""

from __future__ import annotations

from dataclasses import dataclass

from console.models.clock import Clock, SystemClock
from console.models.db import Database
from console.models.enums import StaffRole
from console.models.sealing import SecretBox


@dataclass(frozen=True)
class Actor:
    """The staff member on whose behalf a service acts; recorded in every audit entry."""

    username: str
    full_name: str
    role: StaffRole


SYSTEM_ACTOR = Actor("system", "SLS Console (automatic run)", StaffRole.administrator)


@dataclass
class ServiceContext:
    db: Database
    box: SecretBox
    clock: Clock = SystemClock()
