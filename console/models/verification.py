"""Checking second factors, shared by every path: IB Key (TOTP), DSC+ (challenge/response), code cards,
temporary passcodes. Codes are accepted once; repeated failures lock the device until staff unlock it."""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyotp
from sqlalchemy.orm import Session

from console.models import audit, vault
from console.models.arguments import checked_arguments
from console.models.cards import card_size, values_match
from console.models.concurrency import require_version
from console.models.context import Actor, ServiceContext
from console.models.db import is_row_id, retries_conflicts
from console.models.device_rules import device_label
from console.models.entities import Challenge, SecurityDevice
from console.models.enums import DeviceKind, DeviceState
from console.models.errors import DeviceLocked, InvalidInput, NotFound, RuleViolation, VerificationFailed
from console.models.passcode_hash import passcode_hash
from console.models.permissions import Permission, require
from console.models.settings import Figures, load_figures

TOTP_STEP_SECONDS = 30
# ASCII digits only: pyotp also accepts full-width digits (docs/platform-notes.md).
TOTP_CODE = re.compile(r"[0-9]{6}", re.ASCII)
DSC_RESPONSE = re.compile(r"[0-9]{8}", re.ASCII)
CARD_ANSWER = re.compile(r"[A-Z0-9]{6}", re.ASCII)
PASSCODE = re.compile(r"[A-Z0-9]{8}", re.ASCII)

# Devices whose codes are accepted, by purpose: a pending or shipped device answers only to activate it.
USABLE_STATES = {DeviceState.active, DeviceState.pending, DeviceState.shipped}


@dataclass(frozen=True)
class ChallengeInfo:
    id: int
    device_id: int
    kind: DeviceKind
    positions: tuple[int, ...] = ()
    number: str | None = None
    expires_at: dt.datetime | None = None

    @property
    def prompt(self) -> str:
        if self.kind is DeviceKind.dsc_plus:
            return (f"Ask the client to enter their PIN on the DSC+, then type the challenge {self.number} "
                    f"into the card and read back the 8-digit response.")
        a, b = self.positions
        return (f"Ask the client for the values at index numbers {a} and {b} of the card, "
                f"typed together without a space.")


@dataclass(frozen=True)
class VerificationResult:
    device_id: int
    access: str = "full"  # "portal" for a temporary passcode past its full-access window
    time_step: int | None = None


def totp_step(at: dt.datetime) -> int:
    return int(at.timestamp()) // TOTP_STEP_SECONDS


def totp_match(seed_b32: str, code: str, at: dt.datetime, window: int, digits: int = 6,
               digest: Callable[..., Any] | None = None) -> int | None:
    """The time step (within ±window of `at`) whose RFC 6238 code equals `code`, compared in constant time."""
    totp = pyotp.TOTP(seed_b32, digits=digits, interval=TOTP_STEP_SECONDS, digest=digest)
    now_step = totp_step(at)
    found = None
    for step in range(now_step - window, now_step + window + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step  # no early exit: the same work whatever the answer
    return found


def dsc_response(seed_b32: str, challenge: str) -> str:
    """The 8-digit answer of a DSC+ to a 6-digit challenge (HOTP keyed by the card's secret)."""
    return pyotp.HOTP(seed_b32, digits=8).at(int(challenge))


def _normalise_card_answer(answer: str) -> str:
    return "".join(answer.split()).upper()


@checked_arguments
@retries_conflicts
class VerificationService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # --- challenges ------------------------------------------------------------------------------
    def issue_challenge(self, actor: Actor, device_id: int) -> ChallengeInfo:
        """Draw a fresh challenge for a card (two random index numbers) or a DSC+ (a 6-digit number)."""
        rng = secrets.SystemRandom()
        with self.ctx.db.write() as s:
            require(s, actor, Permission.prove_possession)
            device = _device(s, device_id)
            fig = load_figures(s)
            if device.kind in (DeviceKind.code_card, DeviceKind.online_code_card):
                size = card_size(s, device)
                if size < 2:
                    raise RuleViolation(f"{_named(device)} has no stored values to check against. Replace the card.")
                positions = tuple(sorted(rng.sample(range(1, size + 1), 2)))
                text = f"{positions[0]},{positions[1]}"
            elif device.kind is DeviceKind.dsc_plus:
                positions, text = (), f"{rng.randrange(0, 1_000_000):06d}"
            else:
                raise RuleViolation(f"A {device.kind.label} does not answer challenges; ask for its code instead.")
            now = self.ctx.clock.now()
            ch = Challenge(device_id=device.id, text=text, issued_at=now,
                           expires_at=now + dt.timedelta(minutes=fig.challenge_validity_minutes))
            s.add(ch)
            s.flush()
            audit.record(s, at=now, actor=actor.username, action="device.challenge_issued",
                         summary=f"Challenge issued for {device.kind.label} {device.serial or ''}".rstrip(),
                         account_id=device.account_id, device_id=device.id, details={"challenge_id": ch.id})
            return ChallengeInfo(ch.id, device.id, device.kind, positions,
                                 text if device.kind is DeviceKind.dsc_plus else None, ch.expires_at)

    # --- verifying -------------------------------------------------------------------------------
    def verify(self, actor: Actor, device_id: int, answer: str, *, challenge_id: int | None = None,
               user_id: int | None = None, permission: Permission = Permission.assist_enrollment,
               on_success: Callable[[Session, SecurityDevice, VerificationResult], None] | None = None,
               ) -> VerificationResult:
        """Check `answer`; on success run `on_success` in the same transaction (activate, enroll, share...).

        A wrong or replayed code is counted (and audited) in its own committed transaction, then raised as
        VerificationFailed; at the configured count the device locks. Malformed input changes nothing.
        """
        failure: str | None = None
        with self.ctx.db.write() as s:
            require(s, actor, permission)
            device = _device(s, device_id)
            fig = load_figures(s)
            now = self.ctx.clock.now()
            if device.locked:
                raise DeviceLocked(f"This {device.kind.label} is locked after {fig.lockout_failures} wrong codes. "
                                   f"A staff member must unlock it before it can be used again.")
            if device.state not in USABLE_STATES:
                raise RuleViolation(f"This {device.kind.label} is {device.state.label.lower()} and cannot be used "
                                    f"to prove possession.")
            try:
                result = self._check(s, device, answer, challenge_id, fig, now)
            except VerificationFailed as exc:
                failure = str(exc)
            if failure is None:
                device.failed_attempts = 0
                if on_success is not None:
                    on_success(s, device, result)
                return result
            failure += self._record_failure(s, actor, device, fig, now, failure, user_id)
        raise VerificationFailed(failure)

    def unlock(self, actor: Actor, device_id: int, reason: str = "", *, expected_version: int | None = None) -> None:
        with self.ctx.db.write() as s:
            require(s, actor, Permission.unlock_device)
            device = _device(s, device_id)
            require_version(device, expected_version, device_label(device))
            if not device.locked:
                raise RuleViolation(f"This {device.kind.label} is not locked.")
            device.locked = False
            device.failed_attempts = 0
            vault.unlock_checks(s, device)
            audit.record(s, at=self.ctx.clock.now(), actor=actor.username, action="device.unlocked",
                         summary=f"{_named(device)} unlocked" + (f": {reason}" if reason else ""),
                         account_id=device.account_id, device_id=device.id)

    # --- internals -------------------------------------------------------------------------------
    def _check(self, s: Session, device: SecurityDevice, answer: str, challenge_id: int | None, fig: Figures,
               now: dt.datetime) -> VerificationResult:
        answer = (answer or "").strip()
        kind = device.kind
        if kind.is_legacy:
            raise RuleViolation(f"A {kind.label} cannot be checked by the console (its secret was never imported). "
                                f"Use another of the user's devices, or issue temporary access.")
        if kind is DeviceKind.ib_key:
            if not TOTP_CODE.fullmatch(answer):
                raise InvalidInput("An IB Key code is 6 digits (0-9). Ask the client to read it again.")
            now_step = totp_step(now)
            step = vault.otp_match(s, self.ctx.box, device, answer, now_step - fig.totp_window_steps,
                                   now_step + fig.totp_window_steps, 6)
            if step is None:
                raise VerificationFailed("That IB Key code is not correct. Ask the client to read the current code "
                                         "from the app; codes change every 30 seconds.")
            if device.last_time_step is not None and step <= device.last_time_step:
                raise VerificationFailed("That IB Key code was already used. Ask the client to wait for the next "
                                         "code in the app.")
            device.last_time_step = step
            return VerificationResult(device.id, time_step=step)
        if kind is DeviceKind.temporary_passcode:
            normalised = answer.upper()
            if not PASSCODE.fullmatch(normalised):
                raise InvalidInput("A temporary passcode is 8 letters and digits.")
            if device.expires_at is not None and now >= device.expires_at:
                raise VerificationFailed("This temporary passcode has expired.")
            candidate = passcode_hash(self.ctx.box, stored_secret(device.secret_salt, device), normalised)
            if not vault.slot_matches(s, device, 1, candidate):
                raise VerificationFailed("That temporary passcode is not correct.")
            full = device.full_access_until is None or now < device.full_access_until
            return VerificationResult(device.id, access="full" if full else "portal")
        challenge = self._open_challenge(s, device, challenge_id, now)
        if kind is DeviceKind.sms:
            if not TOTP_CODE.fullmatch(answer):
                raise InvalidInput("An SMS code is 6 digits (0-9). Ask the client to read the text again.")
            challenge.answered_at = now  # each texted code is answered once
            if not vault.code_matches(s, challenge, self.ctx.box.lookup_hash(device.secret_salt or b"", answer)):
                raise VerificationFailed("That SMS code is not correct. Send a new code once the resend interval "
                                         "has passed.")
            return VerificationResult(device.id)
        if kind is DeviceKind.dsc_plus:
            if not DSC_RESPONSE.fullmatch(answer):
                raise InvalidInput("A DSC+ response is 8 digits. Ask the client to read it from the card again.")
            challenge.answered_at = now  # one answer per challenge, right or wrong
            counter = int(challenge.text)
            if vault.otp_match(s, self.ctx.box, device, answer, counter, counter, 8) is None:
                raise VerificationFailed("That DSC+ response is not correct. Check the challenge was typed into the "
                                         "card exactly; a new challenge is needed for the next try.")
            return VerificationResult(device.id)
        # Security Code Card, printed or online.
        normalised = _normalise_card_answer(answer)
        if not CARD_ANSWER.fullmatch(normalised):
            raise InvalidInput("Card values are two groups of 3 letters or digits, typed together without a space "
                               "(6 characters).")
        if device.expires_at is not None and now >= device.expires_at:
            raise VerificationFailed("This Online Security Code Card has expired. Issue a new card.")
        challenge.answered_at = now
        a, b = (int(p) for p in challenge.text.split(","))
        stored_secret(device.secret_salt, device)
        if a == b or not values_match(s, self.ctx.box, device, {a: normalised[:3], b: normalised[3:]}):
            raise VerificationFailed(f"The values for index numbers {a} and {b} are not correct for this card. "
                                     f"A new pair of index numbers is needed for the next try.")
        return VerificationResult(device.id)

    def _open_challenge(self, s: Session, device: SecurityDevice, challenge_id: int | None,
                        now: dt.datetime) -> Challenge:
        if challenge_id is None:
            raise InvalidInput(f"A {device.kind.label} must answer a challenge; draw one first.")
        ch = s.get(Challenge, challenge_id) if is_row_id(challenge_id) else None
        if ch is None or ch.device_id != device.id:
            raise InvalidInput("That challenge does not belong to this device; draw a new one.")
        if ch.answered_at is not None:
            raise VerificationFailed("That challenge was already answered; draw a new one.")
        if now >= ch.expires_at:
            raise VerificationFailed("That challenge has expired; draw a new one.")
        return ch

    def _record_failure(self, s: Session, actor: Actor, device: SecurityDevice, fig: Figures, now: dt.datetime,
                        reason: str, user_id: int | None) -> str:
        """Count a wrong answer (locking at the configured count); returns what the agent is told next."""
        device.failed_attempts += 1
        audit.record(s, at=now, actor=actor.username, action="device.code_refused",
                     summary=f"{_named(device)}: code refused ({device.failed_attempts} in a row)",
                     account_id=device.account_id, user_id=user_id, device_id=device.id, details={"reason": reason})
        left = fig.lockout_failures - device.failed_attempts
        if left > 0:
            return f" {tries_left(left)} before this {device.kind.label} locks."
        device.locked = True
        audit.record(s, at=now, actor=actor.username, action="device.locked",
                     summary=f"{_named(device)} locked after {device.failed_attempts} wrong codes",
                     account_id=device.account_id, user_id=user_id, device_id=device.id)
        return f" The {device.kind.label} is now locked; a staff member must unlock it."


def tries_left(n: int) -> str:
    return f"{n} {'try' if n == 1 else 'tries'} left"


def _named(device: SecurityDevice) -> str:
    """A device as the audit trail names it: its kind and serial (IB Keys have none)."""
    return f"{device.kind.label} {device.serial}" if device.serial else device.kind.label


def _device(s: Session, device_id: int) -> SecurityDevice:
    device = s.get(SecurityDevice, device_id) if is_row_id(device_id) else None
    if device is None:
        raise NotFound(f"Device #{device_id} no longer exists; refresh the view.")
    return device


def stored_secret(secret: bytes | None, device: SecurityDevice) -> bytes:
    """A device's stored secret material; a device of a checkable kind always has it, so a gap is damage."""
    if secret is None:
        raise RuleViolation(f"{device.kind.label} {device.serial} has no stored secret to check against. "
                            f"Replace the device.")
    return secret
