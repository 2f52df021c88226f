"""Invariants that hold after any sequence of operations, good or bad input alike."""

from __future__ import annotations

from sqlalchemy import func, select

from console.models import audit
from console.models.entities import DeviceHolding, SecurityDevice, User
from console.models.enums import DeviceState, SlsState


def assert_invariants(ctx) -> None:
    with ctx.db.read() as s:
        result = audit.verify(s)
        assert result.ok, result.problem
        active = (select(DeviceHolding.user_id, func.count().label("n")).join(SecurityDevice)
                  .where(SecurityDevice.state == DeviceState.active).group_by(DeviceHolding.user_id).subquery())
        rows = s.execute(select(User.username, User.sls_state, User.active_devices, func.coalesce(active.c.n, 0))
                         .outerjoin(active, active.c.user_id == User.id)).all()
        for username, state, stored, actual in rows:
            assert stored == actual, f"{username}: active_devices says {stored}, holdings say {actual}"
            assert not (state is SlsState.enrolled and actual == 0), f"{username} enrolled without an active device"
