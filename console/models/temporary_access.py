"""Temporary access after a loss: passcodes (shown once, expire by themselves) and, next, an Online Security
Code Card for a user who stays enrolled (opted-out users get theirs through the opt-in, enrollment.py).

"Never two in a row for the same account" (docs/domain-facts.md) is applied as follows: look at the last piece of
temporary access issued to ANY user of the account, a temporary passcode or an Online Security Code Card,
whatever has happened since (a permanent device activated in between does not reset it). If that last one
is a temporary passcode, another passcode is refused; the way on is an Online Security Code Card (which the
portal-only days of the passcode exist to print), after which a passcode may be issued again.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import audit, passcode_hash, vault
from console.models.arguments import checked_arguments
from console.models.cards import ALPHABET, new_card_device
from console.models.concurrency import require_version
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.device_rules import end_sms_after_activation, follow_devices, settle_holders
from console.models.entities import DeviceHolding, SecurityDevice, User
from console.models.enums import DeviceKind, DeviceState, SlsState
from console.models.errors import RuleViolation
from console.models.lookups import existing_user
from console.models.permissions import Permission, require
from console.models.settings import load_figures
from console.models.training import keep_card_for_training

PASSCODE_LENGTH = 8  # verification.PASSCODE accepts [A-Z0-9]{8}; ALPHABET avoids 0/O and 1/I on the phone
TEMPORARY_KINDS = (DeviceKind.temporary_passcode, DeviceKind.online_code_card)


@dataclass(frozen=True)
class IssuedPasscode:
    """What the agent reads to the client, once. The passcode itself is never stored."""

    device_id: int
    user_id: int
    username: str
    passcode: str
    full_access_until: dt.datetime
    expires_at: dt.datetime

    @property
    def grouped(self) -> str:
        return f"{self.passcode[:4]} {self.passcode[4:]}"


def new_passcode() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(PASSCODE_LENGTH))


def last_temporary_access(s: Session, account_id: int) -> SecurityDevice | None:
    """The temporary access most recently issued to any user of the account."""
    return s.scalars(select(SecurityDevice)
                     .where(SecurityDevice.account_id == account_id, SecurityDevice.kind.in_(TEMPORARY_KINDS))
                     .order_by(SecurityDevice.issued_at.desc(), SecurityDevice.id.desc()).limit(1)).first()


def check_not_consecutive(s: Session, user: User) -> None:
    last = last_temporary_access(s, user.account_id)
    if last is not None and last.kind is DeviceKind.temporary_passcode:
        holder = s.scalar(select(User.username).join(DeviceHolding, DeviceHolding.user_id == User.id)
                          .where(DeviceHolding.device_id == last.id).limit(1))
        raise RuleViolation(
            f"The last temporary access on account {user.account.number} was a temporary passcode "
            f"(issued {last.issued_at:%Y-%m-%d} to {holder or 'a user of the account'}), and two are never "
            f"issued in a row. Issue an Online Security Code Card instead.")


def refuse_temporary_access(user: User) -> None:
    """Temporary access is for an enrolled user (or one whose last device ended), never for the others."""
    if user.sls_state is SlsState.opted_out:
        raise RuleViolation(f"{user.username} is opted out of the Secure Login System and logs in without a second "
                            f"factor; temporary access is not needed.")
    if user.sls_state is SlsState.closed:
        raise RuleViolation(f"The account of {user.username} is closed; no access can be issued.")
    if user.sls_state is SlsState.pending:
        raise RuleViolation(f"{user.username} has an opt-in in progress; finish or cancel it first.")


def issue_passcode_in(s: Session, ctx: ServiceContext, actor: Actor, user: User, *, identity_verified: bool,
                      reason: str = "") -> IssuedPasscode:
    """Issue within the caller's transaction (reporting a loss issues one in the same transaction)."""
    if not identity_verified:
        raise RuleViolation("A temporary passcode is issued only after the caller's identity has been verified "
                            "with the security question. Verify it first, then confirm.")
    refuse_temporary_access(user)
    check_not_consecutive(s, user)
    fig = load_figures(s)
    now = ctx.clock.now()
    passcode = new_passcode()
    salt = passcode_hash.new_salt()
    full_until = now + dt.timedelta(days=fig.temp_passcode_full_access_days)
    expires = full_until + dt.timedelta(days=fig.temp_passcode_portal_days)
    device = SecurityDevice(kind=DeviceKind.temporary_passcode, state=DeviceState.active,
                            account_id=user.account_id, secret_salt=salt, issued_at=now,
                            activated_at=now, full_access_until=full_until, expires_at=expires)
    s.add(device)
    s.flush()
    vault.store_hashes(s, device, passcode_hash.passcode_hash(ctx.box, salt, passcode), vault.PASSCODE_SLOT_BYTES)
    s.add(DeviceHolding(user=user, device=device, preferred=False, since=now))
    settle_holders(s, device)
    follow_devices(s, [user], actor=actor.username, at=now, why="temporary passcode issued")
    audit.record(s, at=now, actor=actor.username, action="device.temporary_passcode_issued",
                 summary=f"Temporary passcode issued to {user.username}: full access until {full_until:%Y-%m-%d %H:%M}"
                         f", portal only until {expires:%Y-%m-%d %H:%M} UTC" + (f" ({reason})" if reason else ""),
                 account_id=user.account_id, user_id=user.id, device_id=device.id,
                 details={"full_access_until": full_until.isoformat(), "expires_at": expires.isoformat(),
                          "identity_verified": True, "reason": reason})
    return IssuedPasscode(device.id, user.id, user.username, passcode, full_until, expires)


@dataclass(frozen=True)
class IssuedCard:
    """An Online Security Code Card's printed values, shown (and printed) once; only hashes are stored."""

    device_id: int
    username: str
    full_name: str
    account_number: str
    serial: str
    values: dict[int, str]
    issued_at: dt.datetime
    expires_at: dt.datetime


@checked_arguments
@retries_conflicts
class TemporaryAccessService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def can_issue(self, user_id: int) -> str | None:
        """None when a passcode may be issued to the user now, else the reason it would be refused."""
        with self.ctx.read() as s:
            user = existing_user(s, user_id)
            try:
                refuse_temporary_access(user)
                check_not_consecutive(s, user)
            except RuleViolation as exc:
                return str(exc)
        return None

    def issue_temporary_passcode(self, actor: Actor, user_id: int, *, identity_verified: bool,
                                 reason: str = "", expected_version: int | None = None) -> IssuedPasscode:
        """A new passcode for the user: full access for the configured days, then portal only, then expired."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.issue_temporary_access)
            user = existing_user(s, user_id)
            require_version(user, expected_version, user.username)
            return issue_passcode_in(s, self.ctx, actor, user, identity_verified=identity_verified, reason=reason)

    def issue_online_card(self, actor: Actor, user_id: int, *, expected_version: int | None = None) -> IssuedCard:
        """An Online Security Code Card for an enrolled user who lost a device: waits for two good values
        (activate_online_card), valid the configured days. Ends a run of temporary passcodes."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.issue_temporary_access)
            user = existing_user(s, user_id)
            require_version(user, expected_version, user.username)
            if user.sls_state not in (SlsState.enrolled, SlsState.no_device):
                raise RuleViolation(f"{user.username} is {user.sls_state.label.lower()}: issue the Online Security "
                                    f"Code Card through the opt-in instead.")
            fig = load_figures(s)
            now = self.ctx.clock.now()
            device, values = new_card_device(s, self.ctx.box, DeviceKind.online_code_card, DeviceState.pending,
                                             user.account_id, fig.code_card_size, now)
            serial = device.serial or ""
            expires_at = now + dt.timedelta(days=fig.online_card_validity_days)
            device.expires_at = expires_at
            s.add(device)
            s.flush()
            s.add(DeviceHolding(user=user, device=device, preferred=False, since=now))
            keep_card_for_training(s, self.ctx, device, values)
            audit.record(s, at=now, actor=actor.username, action="device.issued",
                         summary=f"Online Security Code Card {serial} issued to {user.username} after a "
                                 f"loss, valid until {expires_at:%Y-%m-%d}",
                         account_id=user.account_id, user_id=user.id, device_id=device.id,
                         details={"serial": serial, "expires_at": expires_at.isoformat()})
            return IssuedCard(device.id, user.username, user.full_name, user.account.number, serial, values,
                              now, expires_at)

    def activate_online_card(self, actor: Actor, device_id: int, challenge_id: int, answer: str) -> None:
        """Activate the card with the values at the two index numbers of a challenge (verify() checks the
        actor's session and permission in its transaction)."""
        from console.models.verification import VerificationResult, VerificationService

        def on_success(s: Session, device: SecurityDevice, _result: VerificationResult) -> None:
            if device.kind is not DeviceKind.online_code_card or device.state is not DeviceState.pending:
                raise RuleViolation(f"This {device.kind.label} is {device.state.label.lower()}, not waiting for "
                                    f"activation.")
            now = self.ctx.clock.now()
            device.state = DeviceState.active
            device.activated_at = now
            users = settle_holders(s, device)
            end_sms_after_activation(s, actor.username, device, now)
            follow_devices(s, users, actor=actor.username, at=now, why="Online Security Code Card activated")
            audit.record(s, at=now, actor=actor.username, action="device.activated",
                         summary=f"Online Security Code Card {device.serial} activated for "
                                 f"{', '.join(u.username for u in users)}", account_id=device.account_id,
                         user_id=users[0].id if users else None, device_id=device.id)

        VerificationService(self.ctx).verify(actor, device_id, answer, challenge_id=challenge_id,
                                             permission=Permission.issue_temporary_access, on_success=on_success)

    def expire_due(self, actor: Actor) -> int:
        """Mark temporary access past its end as expired (it is refused at login anyway); safe to repeat.
        A user whose last access this was moves to "no active device" (follow_devices)."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            require(s, actor, Permission.issue_temporary_access)
            due = list(s.scalars(select(SecurityDevice).where(
                SecurityDevice.kind.in_(TEMPORARY_KINDS),
                SecurityDevice.state.in_((DeviceState.active, DeviceState.pending)),
                SecurityDevice.expires_at <= now)))
            for device in due:
                device.state = DeviceState.expired
                users = settle_holders(s, device)
                audit.record(s, at=now, actor=actor.username, action="device.expired",
                             summary=f"{device.kind.label} expired", account_id=device.account_id,
                             device_id=device.id)
                follow_devices(s, users, actor=actor.username, at=now, why=f"{device.kind.label} expired")
            return len(due)


