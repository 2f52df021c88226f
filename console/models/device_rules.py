"""Rules every device change ends with: holders' counts and preferred device kept right; no enrolled user
left without an active device; no device left without a holder."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import audit
from console.models.entities import DeviceHolding, SecurityDevice, User, UserRestriction
from console.models.enums import DeviceKind, DeviceState, SlsState
from console.models.errors import RuleViolation
from console.models.holdings import refresh_active_devices


def holders_of(s: Session, device: SecurityDevice) -> list[User]:
    s.flush()
    return list(s.scalars(select(User).join(DeviceHolding, DeviceHolding.user_id == User.id)
                          .where(DeviceHolding.device_id == device.id).order_by(User.username)))


def settle_user(s: Session, user: User) -> int:
    """Recount the user's active devices and keep exactly one preferred among them (if any is active)."""
    count = refresh_active_devices(s, user)
    rows = s.execute(select(DeviceHolding, SecurityDevice.state, SecurityDevice.activated_at)
                     .join(SecurityDevice, SecurityDevice.id == DeviceHolding.device_id)
                     .where(DeviceHolding.user_id == user.id)).all()
    active = [(h, at) for h, state, at in rows if state is DeviceState.active]
    keep = next((h for h, _ in active if h.preferred), None)
    if keep is None and active:
        # The preferred device left service: the most recently activated active one takes over.
        keep = max(active, key=lambda pair: (pair[1] is not None, pair[1] or 0, pair[0].id))[0]
    for h, _state, _at in rows:
        want = h is keep
        if h.preferred != want:
            h.preferred = want
    return count


def settle_holders(s: Session, device: SecurityDevice) -> list[User]:
    users = holders_of(s, device)
    for user in users:
        settle_user(s, user)
    return users


def require_keeps_active_device(s: Session, users: list[User], what: str) -> None:
    """Call after applying a change in the session: refuse (rolling it back) if an enrolled user of `users`
    now has no active device. Temporary access (passcode, online card) counts as an active device; opted-out
    and pending users need none."""
    s.flush()
    stranded = [u for u in users if u.sls_state is SlsState.enrolled and settle_user(s, u) == 0]
    if stranded:
        names = ", ".join(u.username for u in stranded)
        raise RuleViolation(
            f"{what} would leave {names} without an active security device while enrolled in the Secure Login "
            f"System. Issue a temporary passcode or an Online Security Code Card first (or opt the user out), "
            f"then try again.")


def require_keeps_holder(s: Session, device: SecurityDevice) -> None:
    s.flush()
    if not holders_of(s, device):
        raise RuleViolation(f"A {device.kind.label} always keeps at least one holder. Share it with the new user "
                            f"before removing the last one, or revoke the device instead.")


def follow_devices(s: Session, users: list[User], *, actor: str, at: dt.datetime, why: str) -> list[User]:
    """After devices ended or started by themselves or by temporary access (an expiry, a temporary passcode,
    an Online Security Code Card): an enrolled user left with no active device moves to "no active device",
    and such a user with an active device again is enrolled again. Audited in the caller's transaction.
    Returns the users whose state changed."""
    from console.models import audit

    changed = []
    for user in users:
        count = settle_user(s, user)
        if user.sls_state is SlsState.enrolled and count == 0:
            user.sls_state = SlsState.no_device
            audit.record(s, at=at, actor=actor, action="user.no_active_device",
                         summary=f"{user.username} has no active security device or temporary access any more "
                                 f"({why}); on the work list until staff issue temporary access or the client "
                                 f"opts in again", account_id=user.account_id, user_id=user.id)
            changed.append(user)
        elif user.sls_state is SlsState.no_device and count > 0:
            user.sls_state = SlsState.enrolled
            audit.record(s, at=at, actor=actor, action="user.device_restored",
                         summary=f"{user.username} has an active device again ({why})",
                         account_id=user.account_id, user_id=user.id)
            changed.append(user)
    return changed


def device_label(device: SecurityDevice) -> str:
    return f"{device.kind.label} {device.serial}" if device.serial else device.kind.label


def enroll_if_waiting(s: Session, actor: str, user: User, device: SecurityDevice, now: dt.datetime) -> bool:
    """A user waiting for their first device (pending or opted out) is enrolled by activating one: restrictions
    lifted, audited. True when the user was enrolled by this call."""
    if user.sls_state is SlsState.enrolled:
        return False
    was = user.sls_state
    user.sls_state = SlsState.enrolled
    for r in s.scalars(select(UserRestriction).where(UserRestriction.user_id == user.id,
                                                     UserRestriction.lifted_at.is_(None))):
        r.lifted_at = now
    audit.record(s, at=now, actor=actor, action="user.enrolled",
                 summary=f"{user.username} enrolled by activating {device_label(device)} (was {was.label.lower()}); "
                         f"restrictions lifted", account_id=user.account_id, user_id=user.id, device_id=device.id,
                 details={"device_kind": device.kind.name, "shared": False})
    return True


def end_sms_after_activation(s: Session, actor: str, device: SecurityDevice, now: dt.datetime) -> list[int]:
    """SMS serves only until another device is activated: end the SMS of every holder of `device` (just
    activated or shared). Returns the ended SMS device ids."""
    if device.kind is DeviceKind.sms:
        return []
    ended = []
    for user in holders_of(s, device):
        for sms in s.scalars(select(SecurityDevice).join(DeviceHolding, DeviceHolding.device_id == SecurityDevice.id)
                             .where(DeviceHolding.user_id == user.id, SecurityDevice.kind == DeviceKind.sms,
                                    SecurityDevice.state == DeviceState.active)):
            end_sms(sms)
            ended.append(sms.id)
            audit.record(s, at=now, actor=actor, action="device.sms_ended",
                         summary=f"SMS to {mask_phone(sms.phone)} of {user.username} ended: "
                                 f"{device_label(device)} activated", account_id=user.account_id, user_id=user.id,
                         device_id=sms.id, details={"activated_device_id": device.id})
        settle_user(s, user)
    return ended


def end_sms(sms: SecurityDevice) -> None:
    """Out of use for good; any code still outstanding is refused (the device is no longer usable)."""
    sms.state = DeviceState.revoked
    sms.secret_hash = None
    sms.secret_salt = None


def mask_phone(phone: str | None) -> str:
    """The number as shown to staff and in the audit trail: country code and last 3 digits."""
    if not phone:
        return "an unknown number"
    return f"{phone[:3]}…{phone[-3:]}"
