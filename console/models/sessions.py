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

from sqlalchemy import Engine, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from console.models.clock import Clock
from console.models.context import Actor
from console.models.entities import StaffMember, StaffSession
from console.models.enums import StaffRole
from console.models.errors import SessionEnded
from console.models.settings import load_figures

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


def _valid_row(s: Session, actor: Actor) -> StaffSession | None:
    if not isinstance(actor, Actor) or actor.session_id is None or not isinstance(actor.token, str):
        return None
    if not isinstance(actor.session_id, int) or isinstance(actor.session_id, bool) or actor.session_id <= 0:
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


def check_session(s: Session, actor: Actor) -> StaffMember | None:
    """The acting staff member's current row, after checking the session in this transaction; None for the
    automatic run. Raises SessionEnded, changing nothing, for anything else."""
    if is_automatic_run(actor):
        return None
    row = _valid_row(s, actor)
    if row is None:
        raise SessionEnded(NOT_SIGNED_IN)
    if row.ended_at is not None:
        raise SessionEnded(f"The session of {actor.username} has ended ({row.ended_reason or 'signed out'}). "
                           f"{SIGN_IN_AGAIN}")
    writing = bool(s.info.get("sls_write"))
    # In a write, hold the staff row (PostgreSQL FOR SHARE) so a deactivation waits for this work to finish.
    member = s.get(StaffMember, row.staff_id, with_for_update={"read": True} if writing else None)
    if member is None or member.username != actor.username:
        raise SessionEnded(NOT_SIGNED_IN)
    now = actor.clock.now()
    figures = load_figures(s)
    if not member.active:
        raise SessionEnded(f"The staff account {member.username} has been deactivated; its open sessions can do "
                           f"nothing more. Ask an administrator.")
    if member.locked_until is not None and member.locked_until > now \
            and member.failed_signins >= figures.staff_signin_failures:
        raise SessionEnded(f"The sign-in of {member.username} is locked after failed attempts. "
                           f"Wait, or ask an administrator to unlock it; then sign in again.")
    if now - row.last_seen_at > dt.timedelta(minutes=figures.staff_idle_minutes):
        raise SessionEnded(f"The session of {member.username} ended after {figures.staff_idle_minutes} minutes "
                           f"without activity. {SIGN_IN_AGAIN}")
    if writing:
        row.last_seen_at = now
    elif now - row.last_seen_at > dt.timedelta(seconds=TOUCH_SECONDS):
        _touch(s, row.id, now)
    return member


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
