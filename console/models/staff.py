"""Staff accounts: Argon2id passwords, a TOTP second factor of their own, throttled and locked sign-in."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import re
import secrets
import socket
from base64 import b64encode
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.models import audit
from console.models.arguments import checked_arguments
from console.models.concurrency import last_change
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.entities import AuditEntry, StaffMember
from console.models.enums import StaffRole
from console.models.errors import (
    ConcurrentChange,
    ConsoleError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
    VerificationFailed,
)
from console.models.permissions import Permission, require
from console.models.sealing import SealingError, staff_context
from console.models.sessions import end_all_sessions, end_session, open_session, resume_session
from console.models.settings import Figures, load_figures

log = logging.getLogger(__name__)
USERNAME_RE = re.compile(r"[a-z][a-z0-9._-]{2,31}")
CODE_RE = re.compile(r"[0-9]{6}")  # pyotp alone accepts full-width digits (docs/platform-notes.md)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
TOTP_ISSUER = "SLS Console"
TOTP_INTERVAL = 30
# Before the lock, each failure makes the next attempt wait 1, 2, 4, ... seconds (at most a minute).
MAX_THROTTLE_SECONDS = 60
SIGN_IN_ACTOR = "(sign-in)"
# One message for an unknown username, a wrong password or code, a wait and a lock: none of them may tell an
# outsider whether the username exists (docs/trust.md, "Sign-in that leaks nothing").
WRONG_CREDENTIALS = ("Sign-in refused: the username, password or code is not right, or this sign-in is paused "
                     "after repeated failures. Check them and try again in a minute; an administrator can lift "
                     "a pause at once.")
FIRM_PAUSED = ("Sign-in is paused for everyone: there were too many failed sign-ins at this firm in the last "
               "minute. Wait a minute and try again; administrators see the attempts in the audit trail.")
FAILURE_ACTIONS = ("staff.signin_failed", "staff.locked", "staff.lock_withheld")


def _default_hasher() -> PasswordHasher:
    # argon2-cffi's defaults are Argon2id with RFC 9106's low-memory profile (t=3, 64 MiB, p=4).
    return PasswordHasher()


@dataclass(frozen=True)
class StaffEnrollment:
    """What a new staff member needs once: the otpauth URI for their authenticator app."""

    username: str
    full_name: str
    role: StaffRole
    otpauth_uri: str
    totp_secret: str


@dataclass(frozen=True)
class StaffRow:
    username: str
    full_name: str
    role: StaffRole
    active: bool
    locked_until: dt.datetime | None
    failed_signins: int
    locked: bool = False  # locked now after too many failures (not merely made to wait a few seconds)

    @property
    def as_shown(self) -> tuple[StaffRole, bool, bool]:
        """What a staff screen shows of a member and decides on: another desk changing it makes a decision stale
        (a sign-in, which also writes the row, does not)."""
        return (self.role, self.active, self.locked)


def _staff_row(m: StaffMember, now: dt.datetime, limit: int) -> StaffRow:
    return StaffRow(m.username, m.full_name, m.role, m.active, m.locked_until, m.failed_signins,
                    locked=bool(m.locked_until and m.locked_until > now and m.failed_signins >= limit))


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()


def validate_username(username: str) -> str:
    name = normalize_username(username)
    if not USERNAME_RE.fullmatch(name):
        raise InvalidInput(f"{username!r} is not a valid staff username: use 3 to 32 characters, starting with a "
                           f"letter, then letters, digits, '.', '_' or '-'.")
    return name


def validate_full_name(full_name: str) -> str:
    name = " ".join((full_name or "").split())
    if not name or len(name) > 200 or not name.isprintable():
        raise InvalidInput("Give the staff member's full name (1 to 200 printable characters).")
    return name


def validate_password(password: str, username: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"The password must have at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"The password must have at most {MAX_PASSWORD} characters.")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("The password contains characters that cannot be stored; choose another.") from None
    if username and username in password.lower():
        raise InvalidInput("The password must not contain the username.")
    return password


@checked_arguments
@retries_conflicts
class StaffService:
    """Adds staff, signs them in (password + TOTP), unlocks and resets them. Returns plain results."""

    def __init__(self, ctx: ServiceContext, hasher: PasswordHasher | None = None) -> None:
        self.ctx = ctx
        self.hasher = hasher or _default_hasher()
        self._dummy_hash: str | None = None

    # ----- adding staff -------------------------------------------------------------------------------
    def has_staff(self) -> bool:
        with self.ctx.db.read() as s:
            return bool(s.scalar(select(func.count()).select_from(StaffMember)))

    def add_first_administrator(self, username: str, full_name: str, password: str) -> StaffEnrollment:
        """On a new database only: the administrator who then adds everyone else."""
        return self._add(None, username, full_name, StaffRole.administrator, password)

    def add(self, actor: Actor, username: str, full_name: str, role: StaffRole, password: str) -> StaffEnrollment:
        return self._add(actor, username, full_name, role, password)

    def _add(self, actor: Actor | None, username: str, full_name: str, role: StaffRole,
             password: str) -> StaffEnrollment:
        name = validate_username(username)
        full = validate_full_name(full_name)
        if not isinstance(role, StaffRole):
            raise InvalidInput(f"{role!r} is not a staff role.")
        validate_password(password, name)
        secret = pyotp.random_base32()
        password_hash = self.hasher.hash(password)
        with self.ctx.db.write() as s:
            if actor is not None:
                require(s, actor, Permission.manage_staff)
            elif s.scalar(select(func.count()).select_from(StaffMember)):
                raise PermissionDenied("This database already has staff. Sign in as an administrator to add "
                                       "more staff.")
            if s.scalars(select(StaffMember.id).where(StaffMember.username == name)).first() is not None:
                raise RuleViolation(f"There is already a staff member called {name}. Choose another username.")
            now = self.ctx.clock.now()
            member = StaffMember(username=name, full_name=full, role=role, password_hash=password_hash,
                                 failed_signins=0, active=True, created_at=now)
            s.add(member)
            s.flush()
            member.sealed_totp_secret = self.ctx.box.seal(s, secret.encode(), staff_context(member.id))
            audit.record(s, at=now, actor=actor.username if actor else "setup", action="staff.added",
                         summary=f"Staff member {name} ({full}) added as {role.label}.",
                         details={"staff": name, "role": role.name})
        return StaffEnrollment(name, full, role, self._uri(name, secret), secret)

    @staticmethod
    def _uri(username: str, secret: str) -> str:
        return pyotp.TOTP(secret, interval=TOTP_INTERVAL).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)

    # ----- signing in ---------------------------------------------------------------------------------
    def sign_in(self, username: str, password: str, code: str, resume: Actor | None = None) -> Actor:
        """The Actor for a staff member whose password and current TOTP code are right. With `resume` (the desk's
        ended session) and the same member signing in, that session is reopened and returned instead of a new
        one, so the desk goes on as it was; anyone else gets a new session (and a clean desk).

        Every refusal that could tell whether a username exists (unknown, wrong password or code, a wait, a
        lock) gets the same message and the same work: one Argon2 verification, one audit entry. Each failure
        delays the member's next attempt, `staff_signin_failures` of them lock it, and more than
        `staff_signin_failures_per_minute` failures at the whole firm pause every sign-in for a minute."""
        name = normalize_username(username)
        refusal: ConsoleError | None = None
        actor: Actor | None = None
        with self.ctx.db.write() as s:
            now = self.ctx.clock.now()
            figures = load_figures(s)
            if self._failures_last_minute(s, now, figures) >= figures.staff_signin_failures_per_minute:
                self._note_firm_pause(s, now, figures)
                refusal = VerificationFailed(FIRM_PAUSED)
            else:
                member = (s.scalars(select(StaffMember).where(StaffMember.username == name)).first()
                          if USERNAME_RE.fullmatch(name) else None)
                # Always one verification with the current parameters: an unknown name costs what a known one does.
                password_ok = self._check_password(member.password_hash if member else self._dummy(), password)
                if member is None:
                    refusal = self._record_unknown(s, now)
                elif self._still_locked(member, now):
                    refusal = self._record_paused(s, member, now)
                else:
                    step = self._accepted_step(member, code, now, figures) if password_ok else None
                    if step is None:
                        refusal = self._record_failure(s, member, now, figures)
                    elif not member.active:  # told only to someone who knows the password and the code
                        refusal = PermissionDenied(f"The staff account {name} is deactivated. Ask an administrator.")
                    else:
                        member.failed_signins = 0
                        member.locked_until = None
                        member.last_time_step = step
                        if self.hasher.check_needs_rehash(member.password_hash):
                            member.password_hash = self.hasher.hash(password)
                        actor = resume_session(s, resume, member, self.ctx.clock) if resume is not None else None
                        audit.record(s, at=now, actor=name, action="staff.signed_in",
                                     summary=f"{name} signed in" + (" again; the desk's session goes on." if actor
                                                                    else "."), details={"staff": name})
                        actor = actor or open_session(s, member, self.ctx.clock)
        if refusal is not None:
            raise refusal
        assert actor is not None
        return actor

    def sign_out(self, actor: Actor) -> None:
        """End the actor's session: every later call made with it is refused. Safe to repeat."""
        with self.ctx.db.write() as s:
            if end_session(s, actor, "signed out"):
                audit.record(s, at=self.ctx.clock.now(), actor=actor.username, action="staff.signed_out",
                             summary=f"{actor.username} signed out.", details={"staff": actor.username})

    def _dummy(self) -> str:
        """An Argon2 hash string with the hasher's current parameters that matches no password. Verifying
        against it costs what verifying a real hash costs; building it costs nothing (no hash is computed)."""
        if self._dummy_hash is None:
            h = self.hasher

            def b64(raw: bytes) -> str:
                return b64encode(raw).decode().rstrip("=")
            self._dummy_hash = (f"$argon2{h.type.name.lower()}$v=19$m={h.memory_cost},t={h.time_cost},"
                                f"p={h.parallelism}${b64(secrets.token_bytes(h.salt_len))}$"
                                f"{b64(secrets.token_bytes(h.hash_len))}")
        return self._dummy_hash

    def _check_password(self, password_hash: str, password: str) -> bool:
        if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
            return False
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError, UnicodeEncodeError):
            return False

    def _accepted_step(self, member: StaffMember, code: str, now: dt.datetime, figures: Figures) -> int | None:
        """The time step of a good, not yet used code; None for anything else (replays included)."""
        if not isinstance(code, str) or not CODE_RE.fullmatch(code.strip()) or member.sealed_totp_secret is None:
            return None
        try:
            secret = self.ctx.box.open(member.sealed_totp_secret, staff_context(member.id)).decode()
        except SealingError as exc:  # the desk's key, not the person: told as the fault it is, nothing counted
            log.error("sign-in of %s: the second-factor secret cannot be opened: %s", member.username, exc)
            raise SealingError(f"The sign-in could not be checked: {exc} Nothing was counted against "
                               f"{member.username}.") from None
        totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
        current = int(now.timestamp()) // TOTP_INTERVAL
        for step in range(current - figures.totp_window_steps, current + figures.totp_window_steps + 1):
            if hmac.compare_digest(totp.generate_otp(step), code.strip()):
                if member.last_time_step is not None and step <= member.last_time_step:
                    return None  # replay: this code (or a later one) was already accepted
                return step
        return None

    @staticmethod
    def _still_locked(member: StaffMember, now: dt.datetime) -> bool:
        return member.locked_until is not None and member.locked_until > now

    @staticmethod
    def _failures_last_minute(s: Session, now: dt.datetime, figures: Figures) -> int:
        """Failed sign-ins at the whole firm in the last minute, read newest first from the audit trail's action
        index (at most the limit's worth of rows per kind)."""
        since, count = now - dt.timedelta(minutes=1), 0
        for action in FAILURE_ACTIONS:
            times = s.scalars(select(AuditEntry.at).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id.desc()).limit(figures.staff_signin_failures_per_minute))
            count += sum(1 for at in times if at > since)
        return count

    @staticmethod
    def _note_firm_pause(s: Session, now: dt.datetime, figures: Figures) -> None:
        """Announce the pause once a minute (not once per refused attempt: a script would flood the trail)."""
        last = s.scalar(select(AuditEntry.at).where(AuditEntry.action == "staff.signin_paused")
                        .order_by(AuditEntry.id.desc()).limit(1))
        if last is None or last <= now - dt.timedelta(minutes=1):
            audit.record(s, at=now, actor=SIGN_IN_ACTOR, action="staff.signin_paused",
                         summary=f"Sign-in paused for everyone for a minute: {figures.staff_signin_failures_per_minute}"
                                 f" or more failed sign-ins at the firm in the last minute.",
                         details={"limit": figures.staff_signin_failures_per_minute, "desk": _desk()})

    @staticmethod
    def _record_unknown(s: Session, now: dt.datetime) -> ConsoleError:
        # The name typed is not kept: people type passwords into the username field.
        audit.record(s, at=now, actor=SIGN_IN_ACTOR, action="staff.signin_failed",
                     summary="Failed sign-in for a username that is not on the staff.",
                     details={"staff": None, "desk": _desk()})
        return VerificationFailed(WRONG_CREDENTIALS)

    @staticmethod
    def _record_paused(s: Session, member: StaffMember, now: dt.datetime) -> ConsoleError:
        """An attempt while the member must wait or is locked: refused unchecked, counted for the firm only."""
        audit.record(s, at=now, actor=SIGN_IN_ACTOR, action="staff.signin_failed",
                     summary=f"Sign-in attempt for {member.username} while it is paused (until "
                             f"{member.locked_until:%H:%M:%S} UTC); not checked.",
                     details={"staff": member.username, "failures": member.failed_signins, "desk": _desk()})
        return VerificationFailed(WRONG_CREDENTIALS)

    @staticmethod
    def _record_failure(s: Session, member: StaffMember, now: dt.datetime, figures: Figures) -> ConsoleError:
        if member.failed_signins >= figures.staff_signin_failures:
            member.failed_signins = 0  # an expired lock: a fresh round of attempts
        member.failed_signins += 1
        details = {"staff": member.username, "failures": member.failed_signins, "desk": _desk()}
        if member.failed_signins >= figures.staff_signin_failures and _last_free_administrator(s, member, now,
                                                                                                 figures):
            # Nobody may lock every administrator out: the last one who can sign in only waits.
            member.failed_signins = figures.staff_signin_failures - 1
            member.locked_until = now + dt.timedelta(seconds=MAX_THROTTLE_SECONDS)
            audit.record(s, at=now, actor=SIGN_IN_ACTOR, action="staff.lock_withheld",
                         summary=f"Sign-in of {member.username} NOT locked after {figures.staff_signin_failures} "
                                 f"failed attempts: the last administrator who can sign in is never locked, only "
                                 f"made to wait {MAX_THROTTLE_SECONDS} seconds. Check who is trying.",
                         details=details)
        elif member.failed_signins >= figures.staff_signin_failures:
            member.locked_until = now + dt.timedelta(minutes=figures.staff_lock_minutes)
            audit.record(s, at=now, actor=SIGN_IN_ACTOR, action="staff.locked",
                         summary=f"Sign-in of {member.username} locked for {figures.staff_lock_minutes} minutes "
                                 f"after {member.failed_signins} failed attempts. An administrator can unlock it "
                                 f"(Tools → Staff, or sls-console staff unlock).",
                         details=details)
        else:
            delay = min(2 ** (member.failed_signins - 1), MAX_THROTTLE_SECONDS)
            member.locked_until = now + dt.timedelta(seconds=delay)
            audit.record(s, at=now, actor=SIGN_IN_ACTOR, action="staff.signin_failed",
                         summary=f"Failed sign-in for {member.username} (attempt {member.failed_signins}).",
                         details=details)
        return VerificationFailed(WRONG_CREDENTIALS)

    # ----- administration ------------------------------------------------------------------------------
    def members(self, actor: Actor) -> list[StaffRow]:
        with self.ctx.db.read() as s:
            require(s, actor, Permission.manage_staff)
            now, limit = self.ctx.clock.now(), load_figures(s).staff_signin_failures
            return [_staff_row(m, now, limit) for m in s.scalars(select(StaffMember).order_by(StaffMember.username))]

    def _member_as_shown(self, s: Session, username: str, shown: StaffRow | None) -> StaffMember:
        """The member, refused (naming the change) when its role, activity or lock differ from `shown`, the row
        the desk displayed."""
        m = self._member(s, username)
        if shown is not None:
            now, limit = self.ctx.clock.now(), load_figures(s).staff_signin_failures
            if _staff_row(m, now, limit).as_shown != shown.as_shown:
                last = last_change(s, AuditEntry.details.contains(f'"staff":"{m.username}"'))
                raise ConcurrentChange(f"Another desk changed {m.username} while you were working on it"
                                       f"{f': {last}' if last else ''}. The list has been refreshed with the "
                                       f"current state; check it and try again.")
        return m

    def _member(self, s: Session, username: str) -> StaffMember:
        name = normalize_username(username)
        member = (s.scalars(select(StaffMember).where(StaffMember.username == name)).first()
                  if USERNAME_RE.fullmatch(name) else None)
        if member is None:
            raise NotFound(f"There is no staff member called {username!r}.")
        return member

    def unlock(self, actor: Actor, username: str, *, shown: StaffRow | None = None) -> None:
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_staff)
            m = self._member_as_shown(s, username, shown)
            m.failed_signins, m.locked_until = 0, None
            audit.record(s, at=self.ctx.clock.now(), actor=actor.username, action="staff.unlocked",
                         summary=f"Sign-in of {m.username} unlocked.", details={"staff": m.username})

    def reset_second_factor(self, actor: Actor, username: str, *, shown: StaffRow | None = None) -> StaffEnrollment:
        """A new TOTP secret (old authenticator entries stop working); returns the new otpauth URI."""
        secret = pyotp.random_base32()
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_staff)
            m = self._member_as_shown(s, username, shown)
            m.sealed_totp_secret = self.ctx.box.seal(s, secret.encode(), staff_context(m.id))
            m.last_time_step = None
            audit.record(s, at=self.ctx.clock.now(), actor=actor.username, action="staff.second_factor_reset",
                         summary=f"Second factor of {m.username} reset.", details={"staff": m.username})
            return StaffEnrollment(m.username, m.full_name, m.role, self._uri(m.username, secret), secret)

    def change_password(self, actor: Actor, username: str, new_password: str) -> None:
        """Staff change their own password; administrators anyone's."""
        name = normalize_username(username)
        validate_password(new_password, name)
        new_hash = self.hasher.hash(new_password)
        with self.ctx.db.write() as s:
            # Everyone may change their own password (a valid session is still needed).
            require(s, actor, Permission.view if name == actor.username else Permission.manage_staff)
            m = self._member(s, username)
            m.password_hash = new_hash
            audit.record(s, at=self.ctx.clock.now(), actor=actor.username, action="staff.password_changed",
                         summary=f"Password of {m.username} changed.", details={"staff": m.username})

    def deactivate(self, actor: Actor, username: str, *, shown: StaffRow | None = None) -> None:
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_staff)
            m = self._member_as_shown(s, username, shown)
            if not m.active:
                raise RuleViolation(f"{m.username} is already deactivated.")
            if m.role is StaffRole.administrator:
                others = s.scalar(select(func.count()).select_from(StaffMember).where(
                    StaffMember.role == StaffRole.administrator, StaffMember.active.is_(True),
                    StaffMember.id != m.id))
                if not others:
                    raise RuleViolation(f"{m.username} is the last active administrator; add another "
                                        f"administrator first.")
            m.active = False
            end_all_sessions(s, m, self.ctx.clock.now(), "deactivated")
            audit.record(s, at=self.ctx.clock.now(), actor=actor.username, action="staff.deactivated",
                         summary=f"Staff member {m.username} deactivated.", details={"staff": m.username})


def _desk() -> str:
    """Which machine an attempt came from, for the administrator reading the trail (the caller could lie)."""
    return socket.gethostname()[:64]


def _last_free_administrator(s: Session, member: StaffMember, now: dt.datetime, figures: Figures) -> bool:
    """Whether `member` is the only active administrator whose sign-in is not locked now."""
    if member.role is not StaffRole.administrator or not member.active:
        return False
    others = s.scalars(select(StaffMember).where(StaffMember.role == StaffRole.administrator,
                                                 StaffMember.active.is_(True), StaffMember.id != member.id))
    return not any(not (o.locked_until is not None and o.locked_until > now
                        and o.failed_signins >= figures.staff_signin_failures) for o in others)
