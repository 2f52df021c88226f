"""Printed Security Code Cards: made with the same values, hashes and challenges as the online card, printed and
mailed to the client, activated by the values at two index numbers.

No fee and no return (a card costs nothing to replace: domain-facts, "Charges and returns"), so no reserve is
held. Like a mailed DSC+, it waits in the shipped state for the activation window; activating it enrolls a user
who was waiting for a device and ends an SMS stand-in. Issuing one is a change to the user's security setup, so
the user must hold the account's security rights.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import audit
from console.models.arguments import checked_arguments
from console.models.cards import new_card_device
from console.models.concurrency import require_version
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.device_rules import end_sms_after_activation, enroll_if_waiting, settle_holders
from console.models.entities import DeviceHolding, SecurityDevice
from console.models.enums import DeviceKind, DeviceState, SlsState
from console.models.errors import NotFound, RuleViolation
from console.models.lookups import existing_user
from console.models.permissions import Permission, require
from console.models.rights import require_rights
from console.models.settings import load_figures
from console.models.training import keep_card_for_training
from console.models.verification import VerificationResult, VerificationService


@dataclass(frozen=True)
class PrintedCard:
    """The card as it goes into the envelope: its values are returned once, for printing, and never stored."""

    device_id: int
    username: str
    full_name: str
    account_number: str
    serial: str
    values: dict[int, str]
    mailed_at: dt.datetime
    activation_due_at: dt.datetime


@checked_arguments
@retries_conflicts
class PrintedCardService:
    def __init__(self, ctx: ServiceContext, verification: VerificationService | None = None) -> None:
        self.ctx = ctx
        self.verification = verification or VerificationService(ctx)

    def issue(self, actor: Actor, user_id: int, *, expected_version: int | None = None) -> PrintedCard:
        """Print and mail a card to the user: shipped, to be activated within the activation window."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_devices)
            now = self.ctx.clock.now()
            fig = load_figures(s)
            user = existing_user(s, user_id)
            require_version(user, expected_version, user.username)
            require_rights(s, user)
            if user.sls_state is SlsState.pending:
                raise RuleViolation(f"{user.username} has an opt-in in progress; finish or cancel it before a card "
                                    f"is mailed.")
            waiting = s.scalar(select(SecurityDevice.serial).join(DeviceHolding)
                               .where(DeviceHolding.user_id == user.id, SecurityDevice.kind == DeviceKind.code_card,
                                      SecurityDevice.state.in_((DeviceState.shipped, DeviceState.active))).limit(1))
            if waiting is not None:
                raise RuleViolation(f"{user.username} already has Security Code Card {waiting}. Report it lost or "
                                    f"damaged first if a new one is needed.")
            device, values = new_card_device(s, self.ctx.box, DeviceKind.code_card, DeviceState.shipped,
                                             user.account_id, fig.code_card_size, now)
            device.shipped_at = now
            device.activation_due_at = now + dt.timedelta(days=fig.dsc_activation_window_days)
            s.add(device)
            s.flush()
            keep_card_for_training(s, self.ctx, device, values)  # demo databases only
            s.add(DeviceHolding(user=user, device=device, preferred=False, since=now))
            settle_holders(s, device)
            audit.record(s, at=now, actor=actor.username, action="device.card_mailed",
                         summary=f"Security Code Card {device.serial} printed and mailed to {user.username}; "
                                 f"activate by {device.activation_due_at:%Y-%m-%d}; no fee, no return",
                         account_id=user.account_id, user_id=user.id, device_id=device.id,
                         details={"serial": device.serial,
                                  "activation_due_at": device.activation_due_at.isoformat()})
            return PrintedCard(device.id, user.username, user.full_name, user.account.number, device.serial or "",
                               values, now, device.activation_due_at)

    def activate(self, actor: Actor, device_id: int, challenge_id: int, answer: str, *,
                 expected_version: int | None = None) -> None:
        """Activate a mailed card with the values at the two index numbers of a challenge (see
        VerificationService.issue_challenge); a late activation is allowed and flagged in the audit entry."""
        with self.ctx.db.read() as s:
            require(s, actor, Permission.manage_devices)
            device = s.get(SecurityDevice, device_id)
            if device is None:
                raise NotFound(f"Device #{device_id} no longer exists; refresh the view.")
            _require_waiting(device, expected_version)

        def on_success(session: Session, dev: SecurityDevice, _result: VerificationResult) -> None:
            _require_waiting(dev, expected_version)
            now = self.ctx.clock.now()
            dev.state = DeviceState.active
            dev.activated_at = now
            users = settle_holders(session, dev)
            for user in users:
                require_rights(session, user)
                enroll_if_waiting(session, actor.username, user, dev, now)
            end_sms_after_activation(session, actor.username, dev, now)
            late = bool(dev.activation_due_at and now > dev.activation_due_at)
            audit.record(session, at=now, actor=actor.username, action="device.activated",
                         summary=f"Security Code Card {dev.serial} activated for "
                                 f"{', '.join(u.username for u in users)}" + (" (after its window)" if late else ""),
                         account_id=dev.account_id, user_id=users[0].id if users else None, device_id=dev.id,
                         details={"late": late})

        self.verification.verify(actor, device_id, answer, challenge_id=challenge_id,
                                 permission=Permission.manage_devices, on_success=on_success)


def _require_waiting(device: SecurityDevice, expected_version: int | None = None) -> None:
    """Only a mailed card waiting for activation; one changed since the desk showed it waiting is refused naming
    who changed it (a card still waiting is not: wrong answers move its version too)."""
    if device.kind is not DeviceKind.code_card or device.state is not DeviceState.shipped:
        require_version(device, expected_version, f"Security Code Card {device.serial}")
    if device.kind is not DeviceKind.code_card or device.state is not DeviceState.shipped:
        raise RuleViolation(f"This {device.kind.label} is {device.state.label.lower()}; only a mailed Security "
                            f"Code Card waiting for activation is activated here.")
