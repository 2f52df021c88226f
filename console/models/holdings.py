"""Who holds which device, and the per-user count of active devices the users list shows."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.models.entities import DeviceHolding, SecurityDevice, User
from console.models.enums import DeviceState


def count_active_devices(session: Session, user_id: int) -> int:
    session.flush()
    return session.scalar(select(func.count()).select_from(DeviceHolding)
                          .join(SecurityDevice, SecurityDevice.id == DeviceHolding.device_id)
                          .where(DeviceHolding.user_id == user_id, SecurityDevice.state == DeviceState.active)) or 0


def refresh_active_devices(session: Session, user: User) -> int:
    """Recount `user`'s active devices into users.active_devices; call after any holding or state change."""
    count = count_active_devices(session, user.id)
    if user.active_devices != count:
        user.active_devices = count
    return count


def refresh_holders(session: Session, device: SecurityDevice) -> None:
    """Recount for every holder of `device` (after its state changed)."""
    session.flush()
    for holding in session.scalars(select(DeviceHolding).where(DeviceHolding.device_id == device.id)):
        refresh_active_devices(session, holding.user)
