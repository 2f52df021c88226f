"""Sharing requests that wait for compliance approval, and the reviewers' queue.

Which requests wait (a setting, on by default): a share between usernames of different entities whose
identification data match (sharing rule 1, second half). A share within one entity is approved at once, as
the real service approves most requests at once (domain-facts, "Sharing a device"). The client has proven
possession of the device when the request is made; what remains is a person's judgement that the two entities
are one person.

While a request waits, the requester's state does not move: a user opting in stays pending (restrictions in
force, nothing to log in with beyond what it had), an enrolled user stays enrolled with its own devices. On
approval the share is made (the sharing rules are checked again: the world may have changed) and a pending
requester is enrolled; on rejection a pending requester goes back to opted out. Either decision needs a reason
and a staff member whose role carries the review permission; both are audited in the decision's transaction.

Rights: the requester's rights were checked when the request was made, and approval checks them again (it
changes the user's security setup). Rejection only puts the user back where it was before the request, so it
is not stopped by a change of rights holder meanwhile.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from console.models import audit
from console.models.arguments import checked_arguments
from console.models.concurrency import require_version
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.device_rules import device_label, enroll_if_waiting, holders_of, settle_user
from console.models.entities import Person, SecurityDevice, SharingRequest, User
from console.models.enums import SharingRequestState, SlsState
from console.models.errors import InvalidInput, NotFound, RuleViolation
from console.models.permissions import Permission, require
from console.models.rights import require_rights
from console.models.settings import Figures
from console.models.sharing import check_share, share

ACROSS_ENTITIES = "different entities with matching identification data"
MAX_REASON = 2000


@dataclass(frozen=True)
class RequestRow:
    """One line of the reviewers' queue."""

    id: int
    requested_at: dt.datetime
    requested_by: str
    username: str
    full_name: str
    account_number: str
    sls_state: SlsState
    device_label: str
    holders: tuple[str, ...]  # "username (Full Name)" of each current holder of the device
    why_review: str
    state: SharingRequestState
    version: int
    matched: str = ""  # which identification data of the two entities match, for the reviewer to check


def matched_data(mine: Person, other: Person) -> str:
    """Which identification data two entities share (sharing rule 1)."""
    if mine.id == other.id:
        return "same entity"
    if mine.ssn and mine.ssn == other.ssn:
        return "SSN"
    if mine.same_identity_as(other):
        return "date of birth, citizenship, residence, ID document"
    return "none"


def review_reason(s: Session, device: SecurityDevice, requester: User, fig: Figures) -> str | None:
    """Why a share of `device` with `requester` must wait for compliance, or None when it is approved at once."""
    if not fig.sharing_review_across_entities:
        return None
    if any(h.person_id != requester.person_id for h in holders_of(s, device)):
        return ACROSS_ENTITIES
    return None


def open_request(s: Session, actor: str, device: SecurityDevice, user: User, why: str,
                 now: dt.datetime) -> SharingRequest:
    """Record a request that waits (the caller has verified possession and checked the sharing rules)."""
    request = SharingRequest(user_id=user.id, device_id=device.id, state=SharingRequestState.pending,
                             why_review=why, requested_at=now, requested_by=actor)
    s.add(request)
    s.flush()
    owners = ", ".join(h.username for h in holders_of(s, device))
    audit.record(s, at=now, actor=actor, action="sharing.requested",
                 summary=f"{user.username} asks to share {device_label(device)} of {owners}; waits for compliance "
                         f"approval ({why})", account_id=user.account_id, user_id=user.id, device_id=device.id,
                 details={"request_id": request.id, "why": why})
    return request


def pending_request_of(s: Session, user: User) -> SharingRequest | None:
    return s.scalar(select(SharingRequest).where(SharingRequest.user_id == user.id,
                                                 SharingRequest.state == SharingRequestState.pending).limit(1))


def withdraw_pending(s: Session, actor: str, user: User, now: dt.datetime, why: str) -> list[int]:
    """The opt-in a waiting request belonged to was cancelled or replaced: the request ends, audited."""
    return withdraw(s, actor, select(SharingRequest).where(SharingRequest.user_id == user.id,
                                                           SharingRequest.state == SharingRequestState.pending),
                    now, why)


def withdraw_for_closing(s: Session, actor: str, user_ids: set[int], device_ids: set[int], now: dt.datetime,
                         number: str) -> list[int]:
    """An account closes: requests of its users, and requests to share a device that closing ended, end too
    (nothing is left for compliance to decide). A requester elsewhere who was opting in by that share goes back
    to opted out, as on a rejection."""
    return withdraw(s, actor, select(SharingRequest).where(
        SharingRequest.state == SharingRequestState.pending,
        SharingRequest.user_id.in_(user_ids) | SharingRequest.device_id.in_(device_ids)),
        now, f"account {number} closed", back_to_opted_out=True, closing=user_ids)


def withdraw(s: Session, actor: str, requests: Select[SharingRequest], now: dt.datetime,
             why: str, *, back_to_opted_out: bool = False, closing: set[int] | None = None) -> list[int]:
    ids = []
    for request in s.scalars(requests.order_by(SharingRequest.id)).all():
        user = request.user
        request.state = SharingRequestState.withdrawn
        request.decided_at, request.decided_by, request.reason = now, actor, why
        ids.append(request.id)
        back = back_to_opted_out and user.sls_state is SlsState.pending and user.id not in (closing or set())
        if back:
            user.sls_state = SlsState.opted_out
            settle_user(s, user)
        audit.record(s, at=now, actor=actor, action="sharing.withdrawn",
                     summary=f"Sharing request of {user.username} withdrawn: {why}"
                             + ("; back to opted out" if back else ""), account_id=user.account_id,
                     user_id=user.id, device_id=request.device_id, details={"request_id": request.id})
    return ids


@checked_arguments
@retries_conflicts
class SharingReviewService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def queue(self, actor: Actor, limit: int = 500) -> list[RequestRow]:
        """Requests waiting for a decision, oldest first."""
        with self.ctx.db.read() as s:
            require(s, actor, Permission.view)
            rows = s.scalars(select(SharingRequest).where(SharingRequest.state == SharingRequestState.pending)
                             .order_by(SharingRequest.requested_at, SharingRequest.id).limit(limit)).all()
            return [_row(s, r) for r in rows]

    def pending_count(self) -> int:
        with self.ctx.read() as s:
            return len(s.scalars(select(SharingRequest.id)
                                 .where(SharingRequest.state == SharingRequestState.pending)).all())

    def approve(self, actor: Actor, request_id: int, reason: str, *,
                expected_version: int | None = None) -> RequestRow:
        """Make the share and enroll a pending requester; refused (nothing changed) if the sharing rules no
        longer hold."""
        why = _reason(reason, "approving")
        with self.ctx.db.write() as s:
            require(s, actor, Permission.review_sharing)
            now = self.ctx.clock.now()
            request = _pending(s, request_id, expected_version)
            user, device = request.user, request.device
            require_rights(s, user)
            try:
                check_share(s, device, user, now)
            except RuleViolation as exc:
                raise RuleViolation(f"This request can no longer be approved: {exc} Reject it with a reason "
                                    f"instead.") from None
            share(s, device, user, now, actor)
            enroll_if_waiting(s, actor.username, user, device, now)
            settle_user(s, user)
            request.state = SharingRequestState.approved
            request.decided_at, request.decided_by, request.reason = now, actor.username, why
            audit.record(s, at=now, actor=actor.username, action="sharing.approved",
                         summary=f"Sharing of {device_label(device)} with {user.username} approved: {why}",
                         account_id=user.account_id, user_id=user.id, device_id=device.id,
                         details={"request_id": request.id, "reason": why})
            s.flush()
            return _row(s, request)

    def reject(self, actor: Actor, request_id: int, reason: str, *,
               expected_version: int | None = None) -> RequestRow:
        """Refuse the share; a pending requester goes back to opted out (its restrictions were never lifted)."""
        why = _reason(reason, "rejecting")
        with self.ctx.db.write() as s:
            require(s, actor, Permission.review_sharing)
            now = self.ctx.clock.now()
            request = _pending(s, request_id, expected_version)
            user, device = request.user, request.device
            request.state = SharingRequestState.rejected
            request.decided_at, request.decided_by, request.reason = now, actor.username, why
            back = user.sls_state is SlsState.pending
            if back:
                user.sls_state = SlsState.opted_out
                settle_user(s, user)
            audit.record(s, at=now, actor=actor.username, action="sharing.rejected",
                         summary=f"Sharing of {device_label(device)} with {user.username} rejected: {why}"
                                 + ("; back to opted out" if back else ""),
                         account_id=user.account_id, user_id=user.id, device_id=device.id,
                         details={"request_id": request.id, "reason": why})
            s.flush()
            return _row(s, request)


def _reason(reason: str, doing: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(f"Give the reason for {doing} the request; it is recorded in the audit trail. Nothing "
                           f"was changed.")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"The reason is {len(text)} characters long; keep it under {MAX_REASON}.")
    return text


def _pending(s: Session, request_id: int, expected_version: int | None = None) -> SharingRequest:
    request = s.get(SharingRequest, request_id)
    if request is None:
        raise NotFound(f"Sharing request #{request_id} no longer exists; refresh the queue.")
    require_version(request, expected_version, f"the sharing request of {request.user.username}")
    if request.state is not SharingRequestState.pending:
        raise RuleViolation(f"Sharing request #{request_id} was already {request.state.label.lower()} by "
                            f"{request.decided_by}; refresh the queue.")
    return request


def _row(s: Session, r: SharingRequest) -> RequestRow:
    others = [h for h in holders_of(s, r.device) if h.id != r.user_id]
    holders = tuple(f"{h.username} ({h.full_name})" for h in others)
    matched = "; ".join(sorted({matched_data(r.user.person, h.person) for h in others}))
    return RequestRow(r.id, r.requested_at, r.requested_by, r.user.username, r.user.full_name,
                      r.user.account.number, r.user.sls_state, device_label(r.device), holders, r.why_review,
                      r.state, r.version, matched)
