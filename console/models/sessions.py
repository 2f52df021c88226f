"""Staff sessions: only a successful sign-in makes an Actor, and every service call re-checks it.

The console holds a random token per sign-in; the database keeps its SHA-256 in `staff_sessions`. On each
call, inside the service's own transaction, the session must exist, match the token, not be ended nor idle
past the `staff_idle_minutes` setting, and belong to a staff member who is still active and not locked.
The role is read from that row, not from the Actor, so a role change applies at the next action.

The automatic start-up run is the one exception: `automatic_run()` makes an actor that carries no session
and is accepted only while that block runs, in this process, and only for the start-up jobs' permissions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterator
from typing import Protocol, cast

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from console.models.clock import Clock
from console.models.context import Actor
from console.models.entities import Setting, StaffMember, StaffSession
from console.models.enums import StaffRole
from console.models.errors import SessionEnded
from console.models.settings import figure, load_figures

log = logging.getLogger(__name__)

# A read refreshes the session's last activity at most this often (each refresh is a small write).
TOUCH_SECONDS = 60
SIGN_IN_AGAIN = "Sign in again to continue."
NOT_SIGNED_IN = f"This action needs a signed-in staff member, and no valid sign-in was given. {SIGN_IN_AGAIN}"

SYSTEM_USERNAME = "system"
_system_token: str | None = None  # set only while automatic_run() is running


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def open_session(s: Session, member: StaffMember, clock: Clock) -> Actor:
    """Record a new sign-in of `member` (in the sign-in's own transaction) and return its Actor."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    row = StaffSession(staff_id=member.id, token_hash=_digest(token), started_at=now, last_seen_at=now)
    s.add(row)
    s.flush()
    return Actor(member.username, member.full_name, member.role, session_id=row.id, token=token, clock=clock)


def resume_session(s: Session, actor: Actor, member: StaffMember, clock: Clock) -> Actor | None:
    """Reopen the session `actor` holds (ended or idle) for the same member who has just signed in again at that
    desk, so its windows go on with the token they hold; None when it may not be resumed: another member, a
    changed role (the desk was built for the old one), or an actor whose token does not match."""
    row = _valid_row(s, actor)
    if row is None or row.staff_id != member.id or actor.role is not member.role:
        return None
    row.ended_at, row.ended_reason, row.last_seen_at = None, None, clock.now()
    return actor


def end_session(s: Session, actor: Actor, reason: str) -> bool:
    """End the actor's session (sign-out); False when it was not a valid open session."""
    row = _valid_row(s, actor)
    if row is None or row.ended_at is not None:
        return False
    row.ended_at, row.ended_reason = actor.clock.now(), reason
    return True


def end_all_sessions(s: Session, member: StaffMember, now: dt.datetime, reason: str) -> int:
    result = s.execute(update(StaffSession).where(StaffSession.staff_id == member.id,
                                                  StaffSession.ended_at.is_(None))
                       .values(ended_at=now, ended_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)


def _well_formed(actor: Actor) -> bool:
    return (isinstance(actor, Actor) and isinstance(actor.token, str) and isinstance(actor.session_id, int)
            and not isinstance(actor.session_id, bool) and actor.session_id > 0)


def _valid_row(s: Session, actor: Actor) -> StaffSession | None:
    if not _well_formed(actor):
        return None
    row = s.get(StaffSession, actor.session_id)
    if row is None or not hmac.compare_digest(bytes(row.token_hash), _digest(actor.token)):
        return None
    return row


def is_automatic_run(actor: Actor) -> bool:
    """Whether `actor` is the automatic start-up run's, and that run is going on now in this process."""
    token = _system_token
    return (token is not None and isinstance(actor, Actor) and actor.session_id is None
            and isinstance(actor.token, str) and hmac.compare_digest(actor.token, token))


class Holder(Protocol):
    """What a checked session tells about the member acting: a staff row, or the read check's one row."""

    @property
    def username(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def role(self) -> StaffRole: ...


def check_session(s: Session, actor: Actor) -> Holder | None:
    """The acting staff member's current row, after checking the session in this transaction; None for the
    automatic run. Raises SessionEnded, changing nothing, for anything else."""
    if is_automatic_run(actor):
        return None
    if not s.info.get("sls_write"):
        return _check_for_read(s, actor)
    row = _valid_row(s, actor)
    if row is None:
        raise SessionEnded(NOT_SIGNED_IN)
    # In a write, hold the staff row (PostgreSQL FOR SHARE) so a deactivation waits for this work to finish.
    member = s.get(StaffMember, row.staff_id, with_for_update={"read": True})
    if member is None or member.username != actor.username:
        raise SessionEnded(NOT_SIGNED_IN)
    figures = load_figures(s)
    _judge(actor, row.ended_at, row.ended_reason, row.last_seen_at, member.active, member.locked_until,
           member.failed_signins, figures.staff_idle_minutes, figures.staff_signin_failures)
    row.last_seen_at = actor.clock.now()
    return member


_READ_CHECK = (
    select(StaffSession.token_hash, StaffSession.ended_at, StaffSession.ended_reason, StaffSession.last_seen_at,
           StaffMember.username, StaffMember.full_name, StaffMember.role, StaffMember.active,
           StaffMember.locked_until, StaffMember.failed_signins,
           select(Setting.value).where(Setting.key == "staff_idle_minutes").scalar_subquery().label("idle"),
           select(Setting.value).where(Setting.key == "staff_signin_failures").scalar_subquery().label("fails"))
    .join(StaffMember, StaffMember.id == StaffSession.staff_id))


def _check_for_read(s: Session, actor: Actor) -> Holder:
    """The read's check: one statement by primary key (the session, its member and the two figures), so the
    users list pays well under a millisecond per window for it."""
    if not _well_formed(actor):
        raise SessionEnded(NOT_SIGNED_IN)
    session_id = int(actor.session_id or 0)
    row = s.execute(_READ_CHECK.where(StaffSession.id == session_id)).first()
    if row is None or not hmac.compare_digest(bytes(row.token_hash), _digest(actor.token)) \
            or row.username != actor.username:
        raise SessionEnded(NOT_SIGNED_IN)
    _judge(actor, row.ended_at, row.ended_reason, row.last_seen_at, row.active, row.locked_until,
           row.failed_signins, figure("staff_idle_minutes", row.idle), figure("staff_signin_failures", row.fails))
    now = actor.clock.now()
    if now - row.last_seen_at > dt.timedelta(seconds=TOUCH_SECONDS):
        _touch(s, session_id, now)
    return cast(Holder, row)


def _judge(actor: Actor, ended_at: dt.datetime | None, ended_reason: str | None, last_seen_at: dt.datetime,
           active: bool, locked_until: dt.datetime | None, failed_signins: int, idle_minutes: int,
           lock_failures: int) -> None:
    """Raise SessionEnded when the session or its member's current row no longer lets it act."""
    name = actor.username
    if ended_at is not None:
        raise SessionEnded(f"The session of {name} has ended ({ended_reason or 'signed out'}). {SIGN_IN_AGAIN}")
    if not active:
        raise SessionEnded(f"The staff account {name} has been deactivated; its open sessions can do "
                           f"nothing more. Ask an administrator.")
    now = actor.clock.now()
    if locked_until is not None and locked_until > now and failed_signins >= lock_failures:
        raise SessionEnded(f"The sign-in of {name} is locked after failed attempts. "
                           f"Wait, or ask an administrator to unlock it; then sign in again.")
    if now - last_seen_at > dt.timedelta(minutes=idle_minutes):
        raise SessionEnded(f"The session of {name} ended after {idle_minutes} minutes "
                           f"without activity. {SIGN_IN_AGAIN}")


def _touch(s: Session, session_id: int, now: dt.datetime) -> None:
    """Refresh last activity from a read (which commits nothing) in a short write of its own."""
    bind = s.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    try:
        with engine.execution_options(sls_write=True).begin() as conn:
            conn.execute(update(StaffSession).where(StaffSession.id == session_id).values(last_seen_at=now))
    except OperationalError:  # busy: the next read tries again; the session is valid either way
        log.warning("could not record activity of session %s", session_id, exc_info=True)


@contextlib.contextmanager
def automatic_run(clock: Clock) -> Iterator[Actor]:
    """The actor of the console's automatic start-up run (expiring temporary access, charging overdue
    devices). It has no session and is accepted only inside this block, in this process, and only for the
    permissions in permissions.AUTOMATIC_RUN_PERMISSIONS. Nothing outside the start-up code calls this."""
    global _system_token
    if _system_token is not None:
        raise RuntimeError("the automatic run is already going on")
    token = secrets.token_urlsafe(32)
    _system_token = token
    try:
        yield Actor(SYSTEM_USERNAME, "SLS Console (automatic run)", StaffRole.administrator, token=token,
                    clock=clock)
    finally:
        _system_token = None
