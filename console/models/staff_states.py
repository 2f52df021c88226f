"""Staff rows under the audit trail's tamper evidence (docs/trust.md, "Audit trail").

Whenever a staff member's row changes through the console (added, signed in or failed to, locked, unlocked,
deactivated, password or second factor changed, secrets re-sealed), the audit entry written in that transaction
carries the SHA-256 of the row's security state: role, active, password hash, sealed second factor, failures
and lock. `audit.verify` compares every member's current row with the last state the chain recorded for it, so
a role, an active flag, a factor or a lock changed directly in the database is named.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from console.models.entities import StaffMember

COVERED = ("username", "role", "active", "password_hash", "sealed_totp_secret", "failed_signins", "locked_until")
DETAILS_KEY = "staff_state"
_PENDING = "staff_rows_changed"


def state_digest(member: StaffMember | Any) -> str:
    """The row's security state, in a fixed order and encoding."""
    locked = member.locked_until
    if locked is not None:
        locked = locked.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    role = getattr(member.role, "name", member.role)
    secret = member.sealed_totp_secret.hex() if member.sealed_totp_secret else None
    fields = [member.id, member.username, role, bool(member.active), member.password_hash, secret,
              int(member.failed_signins or 0), locked]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()


def take_pending(session: Session) -> dict[str, str]:
    """The states of the staff rows changed in this transaction since the last audit entry (and forget them)."""
    changed: set[StaffMember] = session.info.pop(_PENDING, set())
    return {m.username: state_digest(m) for m in changed}


def all_states(session: Session) -> dict[str, str]:
    """Every member's state, for an entry recording changes made outside the ORM (key rotation)."""
    rows = session.scalars(select(StaffMember).order_by(StaffMember.id).execution_options(populate_existing=True))
    return {m.username: state_digest(m) for m in rows}


def record_baseline(session: Session, at: dt.datetime) -> None:
    """On a database upgraded from before staff rows were covered: their present states, as the first record."""
    from console.models import audit  # audit imports this module

    states = all_states(session)
    if states:
        audit.record(session, at=at, actor="upgrade", action="staff.states_recorded",
                     summary=f"State of {len(states)} staff rows recorded: from now on `audit verify` names any "
                             f"staff row changed outside the console.", details={DETAILS_KEY: states})


@event.listens_for(Session, "before_flush")
def _note_staff_changes(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, StaffMember):
            continue
        state = inspect(obj)
        if obj in session.new or any(state.attrs[name].history.has_changes() for name in COVERED):
            session.info.setdefault(_PENDING, set()).add(obj)
