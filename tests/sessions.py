"""Signed-in staff for tests: a real staff row and a real session (the password and code check, tested in
test_staff.py and test_sessions.py, is skipped so fixtures stay cheap). A new member is audited as
`staff.added`, as the console does: `audit verify` names staff rows the trail has never seen.

Model tests move the clock by days (return dates, expiries); a desk idle that long would be signed out. So
these sessions judge idleness on a clock stopped at sign-in, unless `idle_clock` is given (test_sessions.py
passes the test's clock to test the timeout itself)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from console.models import audit
from console.models.clock import Clock, ManualClock
from console.models.context import Actor, ServiceContext
from console.models.entities import StaffMember
from console.models.enums import StaffRole
from console.models.sessions import open_session


def signed_in(ctx: ServiceContext, username: str, full_name: str, role: StaffRole,
              idle_clock: Clock | None = None) -> Actor:
    """A session of `username` (added as staff with `role` if new), as a sign-in would return it."""
    with ctx.db.write() as s:
        member = s.scalars(select(StaffMember).where(StaffMember.username == username)).first()
        if member is None:
            member = StaffMember(username=username, full_name=full_name, role=role, password_hash="(test)",
                                 failed_signins=0, active=True, created_at=ctx.clock.now())
            s.add(member)
            audit.record(s, at=ctx.clock.now(), actor="setup", action="staff.added",
                         summary=f"Staff member {username} added ({role.label}).", details={"staff": username})
        actor = open_session(s, member, ctx.clock)
    return dataclasses.replace(actor, clock=idle_clock or ManualClock(ctx.clock.now()))
