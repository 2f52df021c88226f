"""Closing an account: its users' holdings end, each unreturned device is charged once, reserves settle.

Rules (docs/rules.md):
- Refused while one of the account's devices is on its way back (a return requested and not yet received),
  unless forced with a reason: the fee would otherwise be charged for a card that may arrive tomorrow.
- Devices in use by the account's users end: a device another username (of another, open account) still
  holds stays in service for it and is booked to that account with its reserve; otherwise software devices
  are revoked (secrets wiped) and hardware cards are due back.
- Hardware not back at the firm (in use, shipped, lost, damaged, due back) is charged its replacement fee once,
  "not returned at closing" (no charge if the device was charged already); the charge takes the reserve's
  place. The reserves of devices already returned are released.
- Every user of the account moves to "account closed"; nothing changes for them afterwards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from console.models import audit
from console.models.arguments import checked_arguments
from console.models.charges import add_device_charge, money, release_reserve
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.device_rules import holders_of, settle_user
from console.models.entities import Account, Charge, DeviceHolding, Reserve, SecurityDevice, User
from console.models.enums import ChargeKind, DeviceState, ReturnReason, SlsState
from console.models.errors import InvalidInput, NotFound, RuleViolation
from console.models.permissions import Permission, require
from console.models.returns import fee_for
from console.models.settings import load_figures
from console.models.sharing_review import withdraw_for_closing

MIN_REASON = 5
IN_USE = (DeviceState.active, DeviceState.pending, DeviceState.shipped)
# Hardware the firm has not got back.
UNRETURNED = (DeviceState.active, DeviceState.pending, DeviceState.shipped, DeviceState.lost, DeviceState.stolen,
              DeviceState.damaged, DeviceState.return_pending)


@dataclass(frozen=True)
class ClosingResult:
    account_number: str
    users_closed: int
    devices_ended: int
    charged: int
    charged_cents: int
    reserves_released: int
    forced: bool


@checked_arguments
@retries_conflicts
class AccountService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def returns_in_transit(self, account_id: int) -> list[str]:
        """Serials (or kinds) of the account's devices on their way back: closing waits for them."""
        with self.ctx.read() as s:
            return [_label(d) for d in s.scalars(_in_transit(account_id))]

    def close(self, actor: Actor, account_id: int, *, force_reason: str | None = None) -> ClosingResult:
        """Close the account (rules in the module docstring); one transaction, audited."""
        forced = force_reason is not None
        reason = " ".join((force_reason or "").split())
        if forced and len(reason) < MIN_REASON:
            raise InvalidInput("Give the reason for closing while a return is still on its way (a few words); it "
                               "is kept in the audit trail. Nothing was changed.")
        with self.ctx.db.write() as s:
            require(s, actor, Permission.close_accounts)
            account = s.get(Account, account_id)
            if account is None:
                raise NotFound(f"Account #{account_id} no longer exists; refresh the view.")
            if account.closed_at is not None:
                raise RuleViolation(f"Account {account.number} was already closed on {account.closed_at:%Y-%m-%d} "
                                    f"by {account.closed_by}.")
            transit = list(s.scalars(_in_transit(account.id)))
            if transit and not forced:
                raise RuleViolation(
                    f"A return is on its way for {account.number} ({', '.join(_label(d) for d in transit)}). "
                    f"Wait until it is received, or close anyway with a reason (its fee is then charged). "
                    f"Nothing was changed.")
            now = self.ctx.clock.now()
            fig = load_figures(s)
            users = list(s.scalars(select(User).where(User.account_id == account.id).order_by(User.username)))
            user_ids = {u.id for u in users}
            ended = charged = amount = released = 0
            devices = _devices_of(s, account.id, user_ids)
            for device in devices:
                if device.state in IN_USE and self._hand_over(s, actor, device, user_ids, now):
                    continue
                if device.state in IN_USE:
                    ended += 1
                    if device.kind.is_hardware:
                        device.state = DeviceState.return_pending
                        device.return_reason = ReturnReason.account_closed
                        device.return_due_at = now
                    else:
                        _wipe(device)
                if device.kind.is_hardware and device.state in UNRETURNED and device.account_id == account.id:
                    if not s.scalar(select(exists().where(Charge.device_id == device.id))):
                        fee = fee_for(device.kind, fig)
                        add_device_charge(s, device, ChargeKind.not_returned, fee, actor=actor, at=now,
                                          description=f"{device.kind.label} not returned at account closing")
                        charged += 1
                        amount += fee
                    elif release_reserve(s, device, now) is not None:
                        released += 1
                elif device.account_id == account.id and release_reserve(s, device, now) is not None:
                    released += 1
            ended_ids = {d.id for d in devices if d.state not in IN_USE}
            withdraw_for_closing(s, actor.username, user_ids, ended_ids, now, account.number)
            for user in users:
                was = user.sls_state
                user.sls_state = SlsState.closed
                settle_user(s, user)
                audit.record(s, at=now, actor=actor.username, action="user.closed",
                             summary=f"{user.username}: account {account.number} closed (was {was.label.lower()})",
                             account_id=account.id, user_id=user.id)
            account.closed_at, account.closed_by = now, actor.username
            account.closed_note = reason or None
            audit.record(s, at=now, actor=actor.username, action="account.closed",
                         summary=f"Account {account.number} closed: {len(users)} user(s), {ended} device(s) ended, "
                                 f"{charged} charged {money(amount)}, {released} reserve(s) released"
                                 + (f"; closed with a return on its way: {reason}" if transit else ""),
                         account_id=account.id,
                         details={"users": len(users), "devices_ended": ended, "charged": charged,
                                  "charged_cents": amount, "reserves_released": released,
                                  "in_transit": [_label(d) for d in transit], "force_reason": reason or None})
            return ClosingResult(account.number, len(users), ended, charged, amount, released, bool(transit))

    def _hand_over(self, s: Session, actor: Actor, device: SecurityDevice, user_ids: set[int],
                   now: dt.datetime) -> bool:
        """A device still held by a username outside the account stays in service for it (booked to its account,
        with the reserve); the closing account's users stop holding it. False when nobody else holds it."""
        others = [u for u in holders_of(s, device) if u.id not in user_ids and u.account.closed_at is None]
        if not others:
            return False
        for h in list(s.scalars(select(DeviceHolding).where(DeviceHolding.device_id == device.id,
                                                            DeviceHolding.user_id.in_(user_ids)))):
            s.delete(h)
        if device.account_id not in {u.account_id for u in others}:
            device.account_id = others[0].account_id
            reserve = s.scalar(select(Reserve).where(Reserve.device_id == device.id, Reserve.released_at.is_(None)))
            if reserve is not None:
                reserve.account_id = others[0].account_id
        audit.record(s, at=now, actor=actor.username, action="device.unshared",
                     summary=f"{_label(device)} stays in service for {', '.join(u.username for u in others)} "
                             f"(account closing)", account_id=device.account_id, device_id=device.id)
        return True


def _in_transit(account_id: int) -> Select[SecurityDevice]:
    return (select(SecurityDevice).where(SecurityDevice.account_id == account_id,
                                         SecurityDevice.state == DeviceState.return_pending)
            .order_by(SecurityDevice.id))


def _devices_of(s: Session, account_id: int, user_ids: set[int]) -> list[SecurityDevice]:
    """Devices booked to the account or held by its users, each once."""
    booked = set(s.scalars(select(SecurityDevice.id).where(SecurityDevice.account_id == account_id)))
    held = set(s.scalars(select(DeviceHolding.device_id).where(DeviceHolding.user_id.in_(user_ids))))
    ids = sorted(booked | held)
    return list(s.scalars(select(SecurityDevice).where(SecurityDevice.id.in_(ids)).order_by(SecurityDevice.id)))


def _wipe(device: SecurityDevice) -> None:
    device.state = DeviceState.revoked
    device.sealed_secret = device.secret_hash = device.secret_salt = None


def _label(device: SecurityDevice) -> str:
    return f"{device.kind.label} {device.serial}" if device.serial else f"{device.kind.label} #{device.id}"
