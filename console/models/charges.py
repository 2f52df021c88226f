"""Charges per account (replacement fees, devices not returned): recording, listing, waiving, billing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from console.models import audit
from console.models.arguments import checked_arguments
from console.models.concurrency import require_version
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.entities import Account, Charge, Reserve, SecurityDevice
from console.models.enums import ChargeKind, ChargeStatus
from console.models.errors import InvalidInput, NotFound, RuleViolation
from console.models.permissions import Permission, require

MIN_WAIVE_REASON = 5  # characters: "ok" is not a reason an auditor can follow

DESCRIPTIONS = {
    ChargeKind.replacement: "Replacement of a lost, stolen or damaged {kind}",
    ChargeKind.not_returned: "{kind} not returned by its due date",
}


@dataclass(frozen=True)
class ChargeRow:
    id: int
    account_id: int
    account_number: str
    device_id: int | None
    device_serial: str | None
    kind: ChargeKind
    amount_cents: int
    currency: str
    status: ChargeStatus
    description: str
    created_at: dt.datetime
    created_by: str
    waived_reason: str | None
    waived_by: str | None
    waived_at: dt.datetime | None
    version: int = 0  # sent back with a waiver, so a change made at another desk since is refused


def money(cents: int, currency: str = "USD") -> str:
    return f"{cents / 100:,.2f} {currency}"


def existing_charge(s: Session, device_id: int, kind: ChargeKind) -> Charge | None:
    return s.scalar(select(Charge).where(Charge.device_id == device_id, Charge.kind == kind))


def add_device_charge(s: Session, device: SecurityDevice, kind: ChargeKind, amount_cents: int, *,
                      actor: Actor, at: dt.datetime, user_id: int | None = None,
                      description: str | None = None) -> Charge:
    """Charge the device's account once for `kind` and release its reserve (the charge takes its place).

    The caller checks `existing_charge` first; the unique index on (device_id, kind) backs that up.
    """
    if device.account_id is None:
        raise RuleViolation(f"{device.kind.label} {device.serial or ''}".strip() + " is not booked to any account, "
                            "so it cannot be charged.")
    charge = Charge(account_id=device.account_id, device_id=device.id, kind=kind, amount_cents=amount_cents,
                    currency="USD", status=ChargeStatus.pending,
                    description=description or DESCRIPTIONS[kind].format(kind=device.kind.label), created_at=at,
                    created_by=actor.username)
    s.add(charge)
    s.flush()
    released = release_reserve(s, device, at)
    audit.record(s, at=at, actor=actor.username, action=f"charge.{kind.value}",
                 summary=f"{charge.description}: {money(amount_cents)} charged"
                         + (" (reserve released)" if released else ""),
                 account_id=device.account_id, user_id=user_id, device_id=device.id,
                 details={"charge_id": charge.id, "amount_cents": amount_cents, "serial": device.serial})
    return charge


def hold_reserve(s: Session, device: SecurityDevice, amount_cents: int, at: dt.datetime) -> Reserve:
    reserve = Reserve(account_id=device.account_id, device_id=device.id, amount_cents=amount_cents, held_at=at)
    s.add(reserve)
    s.flush()
    return reserve


def release_reserve(s: Session, device: SecurityDevice, at: dt.datetime) -> Reserve | None:
    """Release the device's reserve if one is still held; returns it (or None when nothing was held)."""
    reserve = s.scalar(select(Reserve).where(Reserve.device_id == device.id, Reserve.released_at.is_(None)))
    if reserve is not None:
        reserve.released_at = at
    return reserve


@checked_arguments
@retries_conflicts
class ChargeService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # --- reading ---------------------------------------------------------------------------------
    def account_id_for(self, number: str) -> int:
        """The account with this number (e.g. U1234567); NotFound with a readable message otherwise."""
        number = (number or "").strip().upper()
        account_id = None
        if "\x00" not in number:  # no number holds one (and PostgreSQL refuses it in a query)
            with self.ctx.read() as s:
                account_id = s.scalar(select(Account.id).where(Account.number == number))
        if account_id is None:
            raise NotFound(f"There is no account {number or '(blank)'}. Check the number (e.g. U1234567).")
        return account_id

    def _stmt(self, account_id: int | None, status: ChargeStatus | None) -> Select[Charge, str, str | None]:
        stmt = (select(Charge, Account.number, SecurityDevice.serial)
                .join(Account, Account.id == Charge.account_id)
                .outerjoin(SecurityDevice, SecurityDevice.id == Charge.device_id))
        if account_id is not None:
            stmt = stmt.where(Charge.account_id == account_id)
        if status is not None:
            stmt = stmt.where(Charge.status == status)
        return stmt

    def count(self, account_id: int | None = None, status: ChargeStatus | None = None) -> int:
        with self.ctx.read() as s:
            stmt = select(func.count()).select_from(Charge)
            if account_id is not None:
                stmt = stmt.where(Charge.account_id == account_id)
            if status is not None:
                stmt = stmt.where(Charge.status == status)
            return s.scalar(stmt) or 0

    def window(self, account_id: int | None = None, status: ChargeStatus | None = None, offset: int = 0,
               limit: int = 200) -> list[ChargeRow]:
        """Charges newest first, filtered in SQL by account and status."""
        stmt = (self._stmt(account_id, status).order_by(Charge.created_at.desc(), Charge.id.desc())
                .offset(offset).limit(limit))
        with self.ctx.read() as s:
            return [_row(c, number, serial) for c, number, serial in s.execute(stmt)]

    def for_account(self, account_id: int, status: ChargeStatus | None = None) -> list[ChargeRow]:
        return self.window(account_id, status, 0, 10_000)

    def totals(self, account_id: int) -> dict[ChargeStatus, int]:
        """Sum of amounts per status for one account, in cents."""
        with self.ctx.read() as s:
            rows = s.execute(select(Charge.status, func.sum(Charge.amount_cents))
                             .where(Charge.account_id == account_id).group_by(Charge.status)).all()
        out = {st: 0 for st in ChargeStatus}
        out.update({st: int(total or 0) for st, total in rows})
        return out

    # --- changing --------------------------------------------------------------------------------
    def waive(self, actor: Actor, charge_id: int, reason: str, *, expected_version: int | None = None) -> ChargeRow:
        """Waive a pending charge; a reason is required and recorded with who waived it and when.
        `expected_version`: the charge as the desk showed it (another desk's change since is refused)."""
        reason = " ".join((reason or "").split())
        if len(reason) < MIN_WAIVE_REASON:
            raise InvalidInput("Give the reason for waiving this charge (at least a few words); it is kept "
                               "with the charge and in the audit trail.")
        with self.ctx.db.write() as s:
            require(s, actor, Permission.waive_charges)
            charge = _charge(s, charge_id)
            require_version(charge, expected_version, f"the charge of {money(charge.amount_cents, charge.currency)} "
                                                      f"on {charge.account.number}")
            if charge.status is not ChargeStatus.pending:
                raise RuleViolation(f"This charge is already {charge.status.value}"
                                    + (f" (by {charge.waived_by}: {charge.waived_reason})"
                                       if charge.status is ChargeStatus.waived else
                                       "; a billed charge is refunded through billing, not waived here") + ".")
            now = self.ctx.clock.now()
            charge.status = ChargeStatus.waived
            charge.waived_reason, charge.waived_by, charge.waived_at = reason, actor.username, now
            audit.record(s, at=now, actor=actor.username, action="charge.waived",
                         summary=f"Charge of {money(charge.amount_cents, charge.currency)} waived: {reason}",
                         account_id=charge.account_id, device_id=charge.device_id,
                         details={"charge_id": charge.id, "reason": reason})
            return _row(charge, charge.account.number, charge.device.serial if charge.device else None)

    def mark_billed(self, actor: Actor, charge_ids: list[int]) -> int:
        """Mark pending charges as billed (handed to billing); all or nothing. Returns how many."""
        # Billing is part of managing charges: the same role that may waive them.
        if not charge_ids:
            raise InvalidInput("Select the charges to mark as billed.")
        with self.ctx.db.write() as s:
            require(s, actor, Permission.waive_charges)
            now = self.ctx.clock.now()
            for charge_id in charge_ids:
                charge = _charge(s, charge_id)
                if charge.status is not ChargeStatus.pending:
                    raise RuleViolation(f"Charge #{charge.id} is {charge.status.value}; only pending charges can "
                                        f"be billed. Nothing was marked.")
                charge.status = ChargeStatus.billed
                audit.record(s, at=now, actor=actor.username, action="charge.billed",
                             summary=f"Charge of {money(charge.amount_cents, charge.currency)} billed",
                             account_id=charge.account_id, device_id=charge.device_id,
                             details={"charge_id": charge.id})
            return len(charge_ids)


def _charge(s: Session, charge_id: int) -> Charge:
    charge = s.get(Charge, charge_id)
    if charge is None:
        raise NotFound(f"Charge #{charge_id} no longer exists; refresh the view.")
    return charge


def _row(c: Charge, number: str, serial: str | None) -> ChargeRow:
    return ChargeRow(c.id, c.account_id, number, c.device_id, serial, c.kind, c.amount_cents, c.currency, c.status,
                     c.description, c.created_at, c.created_by, c.waived_reason, c.waived_by, c.waived_at,
                     c.version)
