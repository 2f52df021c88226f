"""SMS as a temporary device: codes texted to the client's phone, until another device is activated.

Staff issue it (after verifying the caller's identity, as for a temporary passcode) to an enrolled user who has
no active permanent device, typically after a loss while a replacement is on its way; staff end it, and it ends
by itself when any other device of the user is activated (device_rules.end_sms_after_activation). It is a
temporary device for the sharing rule: no username involved in a share may hold one (sharing.py). A new code is
texted at most once per resend interval (a setting, 2 minutes by default).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.models import audit, vault
from console.models.arguments import checked_arguments
from console.models.concurrency import require_version
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.device_rules import (
    end_sms,
    follow_devices,
    mask_phone,
    require_keeps_active_device,
    settle_holders,
    settle_user,
)
from console.models.entities import Challenge, DeviceHolding, SecurityDevice, User
from console.models.enums import DeviceKind, DeviceState, SlsState
from console.models.errors import InvalidInput, NotFound, RuleViolation
from console.models.firm import firm_name
from console.models.lookups import existing_user
from console.models.permissions import Permission, require
from console.models.settings import load_figures

PHONE = re.compile(r"\+[1-9][0-9]{7,14}", re.ASCII)  # E.164: + country code and number, 8 to 15 digits
SMS_CODE = re.compile(r"[0-9]{6}", re.ASCII)
_PHONE_PUNCTUATION = str.maketrans("", "", " -().")


class SmsGateway(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class Outbox:
    """The gateway the console ships with: keeps texts in memory (no carrier is configured). A firm plugs in its
    carrier's gateway; tests read the codes from here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        with self._lock:
            self.sent.append((phone, text))

    def last_code(self, phone: str) -> str | None:
        with self._lock:
            for number, text in reversed(self.sent):
                if number == phone:
                    return text.rsplit(" ", 1)[-1]
        return None


@dataclass(frozen=True)
class SmsIssued:
    device_id: int
    user_id: int
    username: str
    phone_shown: str


@dataclass(frozen=True)
class CodeSent:
    device_id: int
    challenge_id: int
    phone_shown: str
    sent_at: dt.datetime
    expires_at: dt.datetime
    next_send_at: dt.datetime


def normalise_phone(raw: str) -> str:
    phone = (raw or "").strip().translate(_PHONE_PUNCTUATION)
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not PHONE.fullmatch(phone):
        raise InvalidInput(f"{(raw or '').strip()!r} is not a mobile number in international form. Type it with the "
                           f"country code, e.g. +41 79 123 45 67. Nothing was changed.")
    return phone


@checked_arguments
@retries_conflicts
class SmsService:
    def __init__(self, ctx: ServiceContext, gateway: SmsGateway | None = None) -> None:
        self.ctx = ctx
        self.gateway = gateway if gateway is not None else Outbox()

    def issue(self, actor: Actor, user_id: int, phone: str, *, identity_verified: bool,
              expected_version: int | None = None) -> SmsIssued:
        """SMS for an enrolled user without an active permanent device, active at once (the number was given by
        the verified caller); audited."""
        number = normalise_phone(phone)
        if not identity_verified:
            raise RuleViolation("SMS is set up only after the caller's identity has been verified with the security "
                                "question. Verify it first, then confirm.")
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_sms)
            now = self.ctx.clock.now()
            user = existing_user(s, user_id)
            require_version(user, expected_version, user.username)
            # "No active device": an enrolled user whose last device or temporary access ended; SMS brings it back.
            if user.sls_state not in (SlsState.enrolled, SlsState.no_device):
                raise RuleViolation(f"{user.username} is {user.sls_state.label.lower()}; SMS stands in for a device "
                                    f"of an enrolled user only. Use the opt-in for this user.")
            held = _live_devices(s, user)
            if any(d.kind is DeviceKind.sms for d in held):
                raise RuleViolation(f"{user.username} already receives codes by SMS; end that SMS first to change "
                                    f"the number.")
            permanent = [d for d in held if not d.kind.is_temporary and d.state is DeviceState.active]
            if permanent:
                raise RuleViolation(f"{user.username} has an active {permanent[0].kind.label}; SMS only serves until "
                                    f"a device is activated, so it is not needed.")
            device = SecurityDevice(kind=DeviceKind.sms, state=DeviceState.active, account_id=user.account_id,
                                    phone=number, secret_salt=self.ctx.box.new_salt(), issued_at=now,
                                    activated_at=now, failed_attempts=0, locked=False)
            s.add(device)
            s.flush()
            s.add(DeviceHolding(user=user, device=device, preferred=False, since=now))
            settle_holders(s, device)
            follow_devices(s, [user], actor=actor.username, at=now, why="SMS set up")
            audit.record(s, at=now, actor=actor.username, action="device.sms_issued",
                         summary=f"SMS to {mask_phone(number)} set up for {user.username} until another device is "
                                 f"activated", account_id=user.account_id, user_id=user.id, device_id=device.id,
                         details={"phone": mask_phone(number), "identity_verified": True})
            return SmsIssued(device.id, user.id, user.username, mask_phone(number))

    def send_code(self, actor: Actor, device_id: int, *, expected_version: int | None = None) -> CodeSent:
        """Text a fresh 6-digit code (answerable once, for the challenge validity) to the SMS device's number;
        refused until the resend interval has passed since the last one, and when the device changed since the
        agent was shown it (`expected_version`)."""
        code = f"{secrets.randbelow(1_000_000):06d}"
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_sms)
            fig = load_figures(s)
            now = self.ctx.clock.now()
            device = _sms(s, device_id, expected_version)
            last = s.scalar(select(func.max(Challenge.issued_at)).where(Challenge.device_id == device.id))
            if last is not None:
                last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
                next_at = last + dt.timedelta(minutes=fig.sms_resend_minutes)
                if now < next_at:
                    raise RuleViolation(f"A code was texted to {mask_phone(device.phone)} at {last:%H:%M:%S} UTC; "
                                        f"a new one can be sent from {next_at:%H:%M:%S} UTC (every "
                                        f"{fig.sms_resend_minutes} minutes).")
            ch = Challenge(device_id=device.id, text="", issued_at=now,
                           expires_at=now + dt.timedelta(minutes=fig.challenge_validity_minutes))
            s.add(ch)
            s.flush()
            vault.store_code(s, ch, self.ctx.box.lookup_hash(device.secret_salt or b"", code))
            phone = device.phone or ""
            sent = CodeSent(device.id, ch.id, mask_phone(phone), now, ch.expires_at,
                            now + dt.timedelta(minutes=fig.sms_resend_minutes))
        # Texted once the code is stored: a code the console cannot check is never sent.
        self.gateway.send(phone, f"{firm_name()} login code: {code}")
        return sent

    def end(self, actor: Actor, device_id: int, reason: str = "", *, expected_version: int | None = None) -> None:
        """End an SMS device; refused when it is the last active device of an enrolled holder."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_sms)
            now = self.ctx.clock.now()
            device = _sms(s, device_id, expected_version)
            users = settle_holders(s, device)
            end_sms(device)
            require_keeps_active_device(s, users, f"Ending SMS to {mask_phone(device.phone)}")
            for user in users:
                settle_user(s, user)
            audit.record(s, at=now, actor=actor.username, action="device.sms_ended",
                         summary=f"SMS to {mask_phone(device.phone)} of {', '.join(u.username for u in users)} "
                                 f"ended by staff" + (f": {reason.strip()}" if reason.strip() else ""),
                         account_id=device.account_id, user_id=users[0].id if users else None, device_id=device.id,
                         details={"reason": reason.strip()})


def _live_devices(s: Session, user: User) -> list[SecurityDevice]:
    return list(s.scalars(select(SecurityDevice).join(DeviceHolding, DeviceHolding.device_id == SecurityDevice.id)
                          .where(DeviceHolding.user_id == user.id,
                                 SecurityDevice.state.in_((DeviceState.active, DeviceState.pending)))))


def _sms(s: Session, device_id: int, expected_version: int | None = None) -> SecurityDevice:
    device = s.get(SecurityDevice, device_id)
    if device is None:
        raise NotFound(f"Device #{device_id} no longer exists; refresh the view.")
    require_version(device, expected_version, f"SMS to {mask_phone(device.phone)}")
    if device.kind is not DeviceKind.sms:
        raise RuleViolation(f"This is a {device.kind.label}, not an SMS device.")
    if device.state is not DeviceState.active:
        raise RuleViolation(f"This SMS device is {device.state.label.lower()}; set up SMS again if needed.")
    return device


