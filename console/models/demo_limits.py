"""Who may add demo data, and how much this machine can hold: checked before a demo load starts."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from console.models.context import Actor
from console.models.db import Database
from console.models.demo_staff import DEMO_FLAG, DEMO_STAFF
from console.models.entities import Setting, StaffMember
from console.models.errors import InvalidInput, PermissionDenied
from console.models.permissions import Permission, require

# Measured with /usr/bin/time (SQLite): 1.7 KB of database file per user; 1.5 GB peak memory for a million
# users: the rows of the two batches in flight (up to two of demo.BATCH_USERS), and the sets of usernames and
# account numbers kept to avoid duplicates, which grow with the database. Rounded up: a refusal is better than
# a machine out of memory.
DISK_BYTES_PER_USER = 2_500
MEMORY_BYTES_PER_USER = 600  # the sets
MEMORY_BYTES_PER_USER_IN_FLIGHT = 3_000  # a batch's rows
USERS_IN_FLIGHT = 200_000  # two batches of demo.BATCH_USERS
MEMORY_BASE_BYTES = 300 * 2**20
ROOM_LEFT = 0.8  # never plan to fill more than this share of what is free


@dataclass(frozen=True)
class Room:
    users: int
    why: str


def available_memory() -> int:
    """Memory the system can give without swapping (Linux MemAvailable; elsewhere free physical pages)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**40  # unknown: memory does not limit the check, the disk still does


def _database_folder(db: Database) -> Path | None:
    path = make_url(db.url).database if db.is_sqlite else None
    return Path(path).resolve().parent if path and path != ":memory:" else None


def room_for_demo(db: Database, free_memory: int | None = None, free_disk: int | None = None) -> Room:
    """About how many demo users fit in this machine's free memory and, for a SQLite file, free disk."""
    memory = available_memory() if free_memory is None else free_memory
    budget = memory * ROOM_LEFT - MEMORY_BASE_BYTES
    by_memory = int(budget / (MEMORY_BYTES_PER_USER + MEMORY_BYTES_PER_USER_IN_FLIGHT))
    if by_memory > USERS_IN_FLIGHT:  # beyond two batches, only the sets grow
        by_memory = int((budget - USERS_IN_FLIGHT * MEMORY_BYTES_PER_USER_IN_FLIGHT) / MEMORY_BYTES_PER_USER)
    by_memory = max(0, by_memory)
    folder = _database_folder(db)
    if free_disk is None and folder is not None:
        free_disk = shutil.disk_usage(folder).free
    if free_disk is None:
        return Room(by_memory, f"{memory / 2**30:.1f} GB of free memory")
    by_disk = int(free_disk * ROOM_LEFT / DISK_BYTES_PER_USER)
    return Room(min(by_memory, by_disk),
                f"{memory / 2**30:.1f} GB of free memory and {free_disk / 2**30:.1f} GB free on the database's disk")


def check_size(db: Database, users: int, room: Room | None = None) -> None:
    if not isinstance(users, int) or isinstance(users, bool) or users < 1:
        raise InvalidInput("The number of demo users must be a whole number of at least 1.")
    room = room or room_for_demo(db)
    if users > room.users:
        raise InvalidInput(f"{users:,} demo users is more than this machine can hold: {room.why} leave room for "
                           f"about {room.users:,}; choose a smaller number. Nothing was added.")


def has_real_staff(s: Session) -> bool:
    """Staff other than the demo's own (made by create_demo_staff on a database marked as demo)."""
    usernames = set(s.scalars(select(StaffMember.username)))
    if not usernames:
        return False
    demo_names = {name for name, _, _ in DEMO_STAFF}
    return s.get(Setting, DEMO_FLAG) is None or not usernames <= demo_names


def check_may_add(s: Session, actor: Actor | None) -> None:
    """On a database with real staff, demo data needs an administrator signed in; otherwise anyone may."""
    if actor is not None:
        require(s, actor, Permission.add_demo_data)
    elif has_real_staff(s):
        raise PermissionDenied("This database has staff of its own: only a signed-in administrator may add demo "
                               "data to it (sls-console demo --as ADMIN). Nothing was added.")
