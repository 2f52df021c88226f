"""Two desks on one database never lose an update: version counters, and a clear message to the second."""

import pytest
from sqlalchemy import select

from console.models.concurrency import require_version
from console.models.entities import User
from console.models.errors import ConcurrentChange


def test_stale_copy_written_back_is_refused(ctx, world):
    """Desk A holds jsmit001 as it was; desk B changes it; A writing its copy back is refused, B's change kept."""
    with ctx.db.read() as s:
        desk_a_copy = s.get(User, world.primary_id)
        s.expunge(desk_a_copy)
    with ctx.db.write() as s:
        s.get(User, world.primary_id).full_name = "Jane B. Smith"
    with pytest.raises(ConcurrentChange, match="Another desk changed this record"):
        with ctx.db.write() as s:
            s.add(desk_a_copy)
            desk_a_copy.full_name = "Jane A. Smith"
    with ctx.db.read() as s:
        user = s.get(User, world.primary_id)
        assert (user.full_name, user.version) == ("Jane B. Smith", 2)


def test_displayed_version_checked_against_the_row(ctx, world):
    """A service given the version the desk displayed refuses once another desk has moved it on."""
    with ctx.db.read() as s:
        shown = s.get(User, world.primary_id).version
    with ctx.db.write() as s:
        s.get(User, world.primary_id).full_name = "Jane B. Smith"
    with pytest.raises(ConcurrentChange, match="Another desk changed jsmit001.*refreshed"):
        with ctx.db.write() as s:
            user = s.get(User, world.primary_id)
            require_version(user, shown, user.username)
            user.full_name = "Jane A. Smith"
    with ctx.db.read() as s:
        assert s.get(User, world.primary_id).full_name == "Jane B. Smith"


def test_every_concurrently_edited_row_is_versioned():
    """Accounts, users, devices, charges and staff carry a version counter checked on every UPDATE."""
    from console.models.entities import Account, Charge, SecurityDevice, StaffMember

    for entity in (Account, User, SecurityDevice, Charge, StaffMember):
        assert entity.__mapper__.version_id_col is not None, entity.__name__


def test_writers_take_turns_on_postgresql(ctx, db, world):
    """While one desk's write transaction is open, another desk cannot start writing: writers take turns (as
    SQLite's BEGIN IMMEDIATE makes them), so every write reads what the previous one committed."""
    if db.is_sqlite:
        pytest.skip("SQLite's BEGIN IMMEDIATE is checked by the two-desk tests")
    from sqlalchemy import text

    from console.models.db import WRITER_LOCK_KEY

    def other_desk_may_write() -> bool:
        with db.engine.connect() as other:
            return other.scalar(text(f"SELECT pg_try_advisory_xact_lock({WRITER_LOCK_KEY})"))

    with ctx.db.write() as a:
        a.get(User, world.primary_id).full_name = "Jane A. Smith"
        assert not other_desk_may_write()
    assert other_desk_may_write()
    with ctx.db.read() as s:
        assert s.scalars(select(User.full_name).where(User.id == world.primary_id)).one() == "Jane A. Smith"


def test_device_report_on_a_stale_screen_names_the_other_desks_change(ctx, world, agent, back_office):
    """Desk B revoked jsmit001's IB Key after desk A opened it; A's loss report, carrying the version A saw, is
    refused with B's audit entry (what, who, when) and the device stays as B left it."""
    from console.models.devices import DeviceService
    from console.models.entities import SecurityDevice
    from console.models.enums import DeviceState
    from tests.factories import add_device
    from tests.lifecycle import enroll_primary

    key = enroll_primary(ctx, world)  # jsmit001 holds the rights, so its device may be revoked
    with ctx.db.write() as s:
        add_device(s, ctx, s.get(User, world.primary_id), preferred=False)  # so revoking leaves one active
    devices = DeviceService(ctx)
    shown = devices.get(key).version
    devices.revoke(back_office, key, "replaced by the new phone")
    with pytest.raises(ConcurrentChange, match=r"Another desk changed IB Key.*revoked.*\(by boff01 at \d\d:\d\d\)"):
        devices.report(agent, key, "lost", expected_version=shown)
    with ctx.db.read() as s:
        assert s.get(SecurityDevice, key).state is DeviceState.revoked
