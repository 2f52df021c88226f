"""Hardware returns: due dates, receiving a return (releases the reserve), the overdue list and its charge run.

Charging rules (one fee per device at most):
- A device not back by its due date is charged the replacement fee once (kind not_returned). The run can be
  repeated, by staff or at start-up: a device already charged is skipped, and the unique index on
  (device_id, kind) refuses a second charge even if two desks run it at the same moment.
- A device whose replacement fee was already charged (lost, stolen or damaged and replaced) is not charged
  again for being late: the fee covered it.
- A charge takes the place of the reserve, so charging releases the reserve.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from console.models import audit
from console.models.arguments import checked_arguments
from console.models.charges import add_device_charge, existing_charge, money, release_reserve
from console.models.concurrency import require_version
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.device_rules import device_label
from console.models.entities import Account, Charge, DeviceHolding, SecurityDevice, User
from console.models.enums import ChargeKind, DeviceKind, DeviceState, ReturnReason
from console.models.errors import NotFound, RuleViolation
from console.models.permissions import Permission, require
from console.models.settings import Figures, load_figures

# Why a device that comes back unasked was out of use, by the state it was in.
REASON_OF_STATE = {DeviceState.lost: ReturnReason.lost, DeviceState.stolen: ReturnReason.stolen,
                   DeviceState.damaged: ReturnReason.damaged}
# States from which a device can arrive at the returns desk (a lost card may be found and sent back).
RECEIVABLE_STATES = {DeviceState.return_pending, DeviceState.damaged, DeviceState.lost, DeviceState.stolen}


@dataclass(frozen=True)
class ReturnRow:
    device_id: int
    serial: str | None
    account_number: str | None
    holders: tuple[str, ...]
    reason: ReturnReason | None
    return_due_at: dt.datetime | None
    days_overdue: int
    charged: bool


@dataclass(frozen=True)
class OverdueRunResult:
    charged: int
    already_charged: int
    amount_cents: int


def fee_for(kind: DeviceKind, fig: Figures) -> int:
    """The replacement fee of a device kind (docs/domain-facts.md: DSC+ 20 USD, Gold/Platinum 150 USD, code
    card free)."""
    if kind is DeviceKind.dsc_plus:
        return fig.dsc_plus_fee_cents
    if kind.is_legacy:
        return fig.legacy_device_fee_cents
    if kind is DeviceKind.code_card:
        return fig.code_card_fee_cents
    return 0


def start_return(s: Session, device: SecurityDevice, *, reason: ReturnReason, at: dt.datetime, fig: Figures,
                 actor: Actor, user_id: int | None = None) -> None:
    """Expect `device` back within the configured days; audited in the caller's transaction."""
    device.state = DeviceState.return_pending
    device.return_reason = reason
    device.return_due_at = at + dt.timedelta(days=fig.return_due_days)
    audit.record(s, at=at, actor=actor.username, action="device.return_requested",
                 summary=f"{device.kind.label} {device.serial or '#' + str(device.id)} to be returned by "
                         f"{device.return_due_at:%Y-%m-%d} ({reason.label.lower()})",
                 account_id=device.account_id, user_id=user_id, device_id=device.id,
                 details={"reason": reason.value, "return_due_at": device.return_due_at.isoformat()})


def _overdue_stmt(now: dt.datetime) -> Select[SecurityDevice]:
    return (select(SecurityDevice)
            .where(SecurityDevice.state == DeviceState.return_pending, SecurityDevice.return_due_at < now)
            .order_by(SecurityDevice.return_due_at, SecurityDevice.id))


def _charged_already(s: Session, device_id: int) -> bool:
    # Any earlier fee for the device (replacement or not returned) covers it.
    return bool(s.scalar(select(exists().where(Charge.device_id == device_id))))


@checked_arguments
@retries_conflicts
class ReturnsService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def pending(self, overdue_only: bool = False, limit: int = 1000) -> list[ReturnRow]:
        """Devices expected back, soonest due first; `overdue_only` for those past their due date."""
        now = self.ctx.clock.now()
        stmt = (_overdue_stmt(now) if overdue_only else
                select(SecurityDevice).where(SecurityDevice.state == DeviceState.return_pending)
                .order_by(SecurityDevice.return_due_at, SecurityDevice.id))
        with self.ctx.read() as s:
            out = []
            for d in s.scalars(stmt.limit(limit)):
                holders = tuple(s.scalars(select(User.username).join(DeviceHolding, DeviceHolding.user_id == User.id)
                                          .where(DeviceHolding.device_id == d.id).order_by(User.username)))
                number = s.scalar(select(Account.number).where(Account.id == d.account_id)) if d.account_id else None
                late = (now - d.return_due_at).days if d.return_due_at and now > d.return_due_at else 0
                out.append(ReturnRow(d.id, d.serial, number, holders, d.return_reason, d.return_due_at,
                                     late, _charged_already(s, d.id)))
            return out

    def overdue(self) -> list[ReturnRow]:
        return self.pending(overdue_only=True)

    def receive_return(self, actor: Actor, device_id: int, *, expected_version: int | None = None) -> SecurityDevice:
        """The device is back: close the return, release the reserve, and say so in the audit trail."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.receive_returns)
            device = s.get(SecurityDevice, device_id)
            if device is None:
                raise NotFound(f"Device #{device_id} no longer exists; refresh the view.")
            require_version(device, expected_version, device_label(device))
            if not device.kind.is_hardware:
                raise RuleViolation(f"A {device.kind.label} is not returned by mail; only DSC+ cards are.")
            if device.state not in RECEIVABLE_STATES:
                raise RuleViolation(f"DSC+ {device.serial} is {device.state.label.lower()}, not expected back. "
                                    f"Check the serial on the card against the returns list.")
            now = self.ctx.clock.now()
            was = device.state
            device.state = DeviceState.returned
            device.returned_at = now
            if device.return_reason is None:
                device.return_reason = REASON_OF_STATE.get(was, ReturnReason.no_longer_needed)
            reserve = release_reserve(s, device, now)
            late_charge = existing_charge(s, device.id, ChargeKind.not_returned)
            note = ""
            if reserve is not None:
                note = f"; reserve of {money(reserve.amount_cents)} released"
            if late_charge is not None:
                note += (f"; the not-returned charge (#{late_charge.id}, {late_charge.status.value}) stays until "
                         f"staff waive it")
            audit.record(s, at=now, actor=actor.username, action="device.returned",
                         summary=f"DSC+ {device.serial} received back (was {was.label.lower()}){note}",
                         account_id=device.account_id, device_id=device.id,
                         details={"previous_state": was.value, "reserve_released": reserve is not None,
                                  "reason": device.return_reason.value})
            s.flush()
            return device

    def charge_overdue(self, actor: Actor) -> OverdueRunResult:
        """Charge every device past its return date that has not been charged yet. Safe to repeat."""
        charged = already = amount = 0
        now = self.ctx.clock.now()
        with self.ctx.db.read() as s:
            require(s, actor, Permission.run_overdue)
            ids = list(s.scalars(select(SecurityDevice.id).where(SecurityDevice.state == DeviceState.return_pending,
                                                                 SecurityDevice.return_due_at < now)))
        for device_id in ids:
            # One transaction per device: a failure (or another desk's run) affects only that device.
            try:
                with self.ctx.db.write() as s:
                    require(s, actor, Permission.run_overdue)
                    device = s.get(SecurityDevice, device_id)
                    if (device is None or device.state is not DeviceState.return_pending
                            or device.return_due_at is None or device.return_due_at >= now):
                        continue
                    if _charged_already(s, device.id):
                        already += 1
                        continue
                    fee = fee_for(device.kind, load_figures(s))
                    add_device_charge(s, device, ChargeKind.not_returned, fee, actor=actor, at=now)
                    charged += 1
                    amount += fee
            except IntegrityError:
                already += 1  # another desk charged it between our check and our insert
        if charged:
            with self.ctx.db.write() as s:
                require(s, actor, Permission.run_overdue)
                audit.record(s, at=now, actor=actor.username, action="returns.overdue_run",
                             summary=f"Overdue run: {charged} device(s) charged {money(amount)} in total; "
                                     f"{already} already charged",
                             details={"charged": charged, "already_charged": already, "amount_cents": amount})
        return OverdueRunResult(charged, already, amount)
