"""The rules for sharing one security device between usernames of the same person, and the share itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import audit
from console.models.context import Actor
from console.models.entities import DeviceHolding, SecurityDevice, User
from console.models.enums import DeviceState
from console.models.errors import RuleViolation
from console.models.holdings import refresh_active_devices

# A device in one of these states is "assigned" to its holders for the temporary-device rule.
LIVE_STATES = frozenset({DeviceState.active, DeviceState.pending, DeviceState.shipped})


def _holders(session: Session, device: SecurityDevice) -> list[User]:
    session.flush()
    return list(session.scalars(select(User).join(DeviceHolding, DeviceHolding.user_id == User.id)
                                .where(DeviceHolding.device_id == device.id).order_by(User.username)))


def _live_devices(session: Session, user: User, at: dt.datetime | None,
                  ignore: Collection[int] = ()) -> list[SecurityDevice]:
    """The devices `user` holds that are in use (an expired temporary device no longer counts)."""
    devices = session.scalars(select(SecurityDevice).join(DeviceHolding, DeviceHolding.device_id == SecurityDevice.id)
                              .where(DeviceHolding.user_id == user.id, SecurityDevice.state.in_(LIVE_STATES)))
    return [d for d in devices if d.id not in ignore and (at is None or d.expires_at is None or d.expires_at > at)]


def same_person_users(session: Session, user: User) -> list[User]:
    """The other usernames of the person behind `user` (same entity, or the same identification data), by
    username. Candidates are read by name (indexed); the identification data decides."""
    candidates = session.scalars(select(User).where(User.name_key == user.name_key, User.id != user.id)
                                 .order_by(User.username))
    return [u for u in candidates if u.person.same_identity_as(user.person)]


def check_share(session: Session, device: SecurityDevice, requesting_user: User,
                at: dt.datetime | None = None, *, ignore_device_ids: Collection[int] = ()) -> None:
    """Refuse, in plain words, a share that breaks a rule of docs/domain-facts.md ("Sharing a device"). Changes nothing.

    `requesting_user` is the username that wants to use `device`, which other usernames already hold. `at`
    (now) lets an expired temporary device stop counting; without it every live temporary device counts.
    `ignore_device_ids`: devices that will be gone when the share happens (an unfinished opt-in it replaces).
    """
    label = device.kind.label
    holders = _holders(session, device)
    if any(h.id == requesting_user.id for h in holders):
        raise RuleViolation(f"{requesting_user.username} already uses this {label}; there is nothing to share.")
    if not holders:
        raise RuleViolation(f"Nobody holds this {label}, so there is no one to share it with. "
                            f"Assign a device to {requesting_user.username} instead.")
    owners = ", ".join(h.username for h in holders)
    if device.locked:
        raise RuleViolation(f"This {label} of {owners} is locked after too many wrong codes, so it cannot be "
                            f"shared. A staff member must unlock it first.")
    if device.state is not DeviceState.active:
        raise RuleViolation(f"This {label} of {owners} is {device.state.label.lower()}, not active, so it cannot "
                            f"be shared. Only a device in use can be shared.")
    # Rule 1: the same person (same entity, or entities with the same identification data).
    for h in holders:
        if not requesting_user.person.same_identity_as(h.person):
            # Usernames only: the other username may be another client's, whose name is not ours to tell.
            raise RuleViolation(f"{h.username} and {requesting_user.username} "
                                f"are not the same person. A device can only be "
                                f"shared between usernames of the same person; {requesting_user.username} needs "
                                f"a device of their own.")
    # Rule 2: nobody involved has a temporary device (temporary passcode, Online Security Code Card).
    if device.kind.is_temporary:
        raise RuleViolation(f"This device is a {label}, which is temporary and cannot be shared. "
                            f"{requesting_user.username} needs a device of their own.")
    for u in (requesting_user, *holders):
        temporary = [d for d in _live_devices(session, u, at, ignore_device_ids) if d.kind.is_temporary]
        if temporary:
            raise RuleViolation(f"{u.username} has a temporary device ({temporary[0].kind.label}), and a device "
                                f"cannot be shared while any of the usernames has one. Activate a permanent "
                                f"device first, or choose another option.")
    # Rule 3: the device shared is the most protective one among theirs ("less secure device").
    best = max((d for u in (requesting_user, *holders) for d in _live_devices(session, u, at, ignore_device_ids)
                if d.state is DeviceState.active and not d.locked),
               key=lambda d: d.kind.protection_rank, default=device)
    if best.kind.protection_rank > device.kind.protection_rank:
        raise RuleViolation(f"Less secure device: the {label} is not the most protective device of these "
                            f"usernames (there is a {best.kind.label}). Share the {best.kind.label} instead.")


def share(session: Session, device: SecurityDevice, user: User, at: dt.datetime, actor: Actor | str) -> DeviceHolding:
    """Let `user` hold `device` too, after check_share; refreshes the active-device count and audits, in the
    caller's transaction. `actor` is an Actor (or a staff username)."""
    check_share(session, device, user, at)
    has_preferred = session.scalar(select(DeviceHolding.id).where(DeviceHolding.user_id == user.id,
                                                                  DeviceHolding.preferred.is_(True)).limit(1))
    owners = [h.username for h in _holders(session, device)]
    holding = DeviceHolding(user=user, device=device, preferred=has_preferred is None, since=at)
    session.add(holding)
    session.flush()
    refresh_active_devices(session, user)
    audit.record(session, at=at, actor=actor if isinstance(actor, str) else actor.username, action="device.shared",
                 summary=f"{device.kind.label} of {', '.join(owners)} now shared with {user.username}",
                 account_id=user.account_id, user_id=user.id, device_id=device.id,
                 details={"shared_with": user.username, "holders": owners, "serial": device.serial})
    return holding
