"""Assisted opt-in (IB Key, Online Security Code Card, a device shared from another username) and opt-out.

An opt-in touches the database from its first step: the new device is stored pending (so the code the client
reads back can be checked, counted and locked like any other) and the user becomes pending. `confirm` enrolls
only on a good code; `cancel` revokes the pending device and puts the user back to opted out, exactly as before
(the audit trail, being append-only, keeps the attempt). Opting out ends the user's holdings: a device still
held by another username stays active for them; a device nobody holds any more is revoked (IB Key, cards,
passcodes: its secret is wiped) or, for a DSC+, marked for return by the configured due date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyotp
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from console.models import audit, opt_out_terms, vault
from console.models.arguments import checked_arguments
from console.models.cards import new_card_device
from console.models.concurrency import require_version
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.entities import (
    DeviceHolding,
    OptOutAcknowledgement,
    SecurityDevice,
    User,
    UserRestriction,
)
from console.models.enums import OPT_OUT_RESTRICTIONS, DeviceKind, DeviceState, Restriction, ReturnReason, SlsState
from console.models.errors import InvalidInput, NotFound, RuleViolation, VerificationFailed
from console.models.firm import firm_name
from console.models.holdings import refresh_active_devices, refresh_holders
from console.models.limits import user_limits
from console.models.lookups import existing_user
from console.models.permissions import Permission, require
from console.models.rights import require_rights
from console.models.settings import load_figures
from console.models.sharing import LIVE_STATES, check_share, same_person_users, share
from console.models.sharing_review import open_request, pending_request_of, review_reason, withdraw_pending
from console.models.training import keep_card_for_training
from console.models.verification import ChallengeInfo, VerificationResult, VerificationService

# The device kinds an opt-in creates; a pending one of these held by a pending user is that user's opt-in.
OPT_IN_KINDS = (DeviceKind.ib_key, DeviceKind.online_code_card)
USERNAME = re.compile(r"[a-z][a-z0-9_.-]{1,31}", re.ASCII)
CHALLENGE_KINDS = (DeviceKind.dsc_plus, DeviceKind.code_card, DeviceKind.online_code_card)


@dataclass(frozen=True)
class IbKeyStart:
    device_id: int
    username: str
    provisioning_uri: str
    secret: str  # base32, for manual entry in the app when the QR code cannot be scanned

    @property
    def secret_grouped(self) -> str:
        """The key in groups of four, easier to read out and type."""
        return " ".join(self.secret[i:i + 4] for i in range(0, len(self.secret), 4))


@dataclass(frozen=True)
class CardStart:
    device_id: int
    username: str
    full_name: str
    account_number: str
    serial: str
    values: dict[int, str]  # shown and printed once; the database keeps only their hashes
    issued_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True)
class OtherUsername:
    username: str
    account_number: str
    sls_state: SlsState
    active_devices: tuple[str, ...]  # labels, most protective first


@dataclass(frozen=True)
class ShareableDevice:
    device_id: int
    kind: DeviceKind
    serial: str | None
    most_protective: bool

    @property
    def label(self) -> str:
        return self.kind.label + (f" {self.serial}" if self.serial else "")


@dataclass(frozen=True)
class SharedStart:
    device_id: int
    owner_username: str
    kind: DeviceKind
    challenge: ChallengeInfo | None

    @property
    def prompt(self) -> str:
        if self.challenge is not None:
            return self.challenge.prompt
        return (f"Ask the client to open IBKR Mobile, choose {self.owner_username}, and read the current "
                f"6-digit IB Key code.")


@dataclass(frozen=True)
class Enrolled:
    user_id: int
    device_id: int
    shared: bool
    lifted: tuple[Restriction, ...]


@dataclass(frozen=True)
class AwaitingApproval:
    """The client proved possession of the shared device, but the share waits for compliance (sharing_review.py);
    the user stays pending until a reviewer decides."""

    user_id: int
    device_id: int
    request_id: int
    why: str


@dataclass(frozen=True)
class DeviceOutcome:
    device_id: int
    label: str
    outcome: str


@dataclass(frozen=True)
class OptedOut:
    user_id: int
    acknowledgement_id: int
    imposed: tuple[Restriction, ...]
    devices: tuple[DeviceOutcome, ...]
    limits_before: str = ""
    limits_after: str = ""
    withdrawn_requests: tuple[int, ...] = ()  # sharing requests that waited for compliance and ended with the opt-out


@checked_arguments
@retries_conflicts
class EnrollmentService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.verification = VerificationService(ctx)

    # --- starting an opt-in ----------------------------------------------------------------------
    def start_ib_key(self, actor: Actor, user_id: int, *, expected_version: int | None = None) -> IbKeyStart:
        """A fresh TOTP secret on a pending IB Key; the user becomes pending until the app's first good code."""
        secret = pyotp.random_base32()
        with self.ctx.db.write() as s:
            require(s, actor, Permission.assist_enrollment)
            now = self.ctx.clock.now()
            user = self._user_for_opt_in(s, user_id, expected_version)
            self._abandon_unfinished(s, actor, user, now)
            device = self._new_device(s, user, DeviceKind.ib_key, now)
            vault.store_seed(s, self.ctx.box, device, secret)
            self._hold(s, user, device, now)
            audit.record(s, at=now, actor=actor.username, action="device.issued",
                         summary=f"IB Key issued to {user.username}, waiting for its first code",
                         account_id=user.account_id, user_id=user.id, device_id=device.id)
            self._make_pending(s, actor, user, now, "IB Key", device.id)
            uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=firm_name())
            return IbKeyStart(device.id, user.username, uri, secret)

    def start_online_card(self, actor: Actor, user_id: int, *, expected_version: int | None = None) -> CardStart:
        """A new Online Security Code Card (values returned once, hashes stored), valid the configured days."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.assist_enrollment)
            now = self.ctx.clock.now()
            fig = load_figures(s)
            user = self._user_for_opt_in(s, user_id, expected_version)
            self._abandon_unfinished(s, actor, user, now)
            device, values = new_card_device(s, self.ctx.box, DeviceKind.online_code_card, DeviceState.pending,
                                             user.account_id, fig.code_card_size, now)
            expires_at = now + dt.timedelta(days=fig.online_card_validity_days)
            device.expires_at = expires_at
            s.add(device)
            s.flush()
            keep_card_for_training(s, self.ctx, device, values)
            self._hold(s, user, device, now)
            audit.record(s, at=now, actor=actor.username, action="device.issued",
                         summary=f"Online Security Code Card {device.serial} issued to {user.username}, valid "
                                 f"{fig.online_card_validity_days} days",
                         account_id=user.account_id, user_id=user.id, device_id=device.id,
                         details={"serial": device.serial, "expires_at": expires_at.isoformat()})
            self._make_pending(s, actor, user, now, "Online Security Code Card", device.id)
            return CardStart(device.id, user.username, user.full_name, user.account.number, device.serial or "",
                             values, now, expires_at)

    def other_usernames(self, actor: Actor, user_id: int) -> list[OtherUsername]:
        """The person's other usernames, for the sharing page: each with its active devices. Changes nothing."""
        with self.ctx.db.read() as s:
            require(s, actor, Permission.assist_enrollment)
            user = existing_user(s, user_id)
            return [OtherUsername(u.username, u.account.number, u.sls_state,
                                  tuple(ShareableDevice(d.id, d.kind, d.serial, False).label
                                        for d in _active_devices(s, u)))
                    for u in same_person_users(s, user)]

    def shareable_devices(self, actor: Actor, user_id: int, other_username: str) -> list[ShareableDevice]:
        """The active devices of `other_username`, most protective first, once the sharing rules allow its most
        protective one (so a refusal shows as soon as the username is known). Changes nothing."""
        with self.ctx.db.read() as s:
            require(s, actor, Permission.assist_enrollment)
            user = self._user_for_opt_in(s, user_id)
            owner = self._other_user(s, user, other_username)
            devices = _active_devices(s, owner)
            if not devices:
                raise RuleViolation(f"{owner.username} has no active security device to share. Choose another "
                                    f"option for {user.username}.")
            # An unfinished opt-in (say, a card issued before the client chose sharing) is replaced by the share.
            check_share(s, devices[0], user, self.ctx.clock.now(), ignore_device_ids=_pending_opt_in_ids(s, user))
            best = devices[0].kind.protection_rank
            return [ShareableDevice(d.id, d.kind, d.serial, d.kind.protection_rank == best) for d in devices]

    def start_shared(self, actor: Actor, user_id: int, other_username: str,
                     device_id: int | None = None, *, expected_version: int | None = None) -> SharedStart:
        """Check the sharing rules for the device `other_username` holds (its most protective one unless
        `device_id` names another) and make the user pending until the client proves possession with it."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.assist_enrollment)
            now = self.ctx.clock.now()
            user = self._user_for_opt_in(s, user_id, expected_version)
            owner = self._other_user(s, user, other_username)
            self._abandon_unfinished(s, actor, user, now)
            devices = _active_devices(s, owner)
            if device_id is None:
                if not devices:
                    raise RuleViolation(f"{owner.username} has no active security device to share. Choose "
                                        f"another option for {user.username}.")
                device = devices[0]
            else:
                chosen = s.get(SecurityDevice, device_id)
                held = chosen is not None and s.scalar(select(DeviceHolding.id).where(
                    DeviceHolding.device_id == chosen.id, DeviceHolding.user_id == owner.id))
                if chosen is None or not held:
                    raise InvalidInput(f"That device is not one of {owner.username}'s; choose one from the list.")
                device = chosen
            check_share(s, device, user, now)
            self._make_pending(s, actor, user, now, f"{device.kind.label} shared from {owner.username}", device.id,
                               {"owner": owner.username})
            kind, device_id, owner_name = device.kind, device.id, owner.username
        challenge = self.verification.issue_challenge(actor, device_id) if kind in CHALLENGE_KINDS else None
        return SharedStart(device_id, owner_name, kind, challenge)

    def new_challenge(self, actor: Actor, user_id: int, device_id: int) -> ChallengeInfo:
        """A fresh challenge (two card index numbers, or a DSC+ number) for the device `user_id` is proving."""
        with self.ctx.db.read() as s:
            require(s, actor, Permission.assist_enrollment)
            self._user_for_confirm(s, user_id)
        return self.verification.issue_challenge(actor, device_id)

    # --- finishing -------------------------------------------------------------------------------
    def confirm(self, actor: Actor, user_id: int, device_id: int, answer: str,
                challenge_id: int | None = None) -> Enrolled | AwaitingApproval:
        """Check the client's code; on success, in one transaction: device active (or shared), user enrolled,
        opt-out restrictions lifted, audit entries written. A wrong code changes none of that."""
        # Clients read codes out in groups ("123 456"); only ASCII spaces go, the format checks stay strict.
        answer = (answer or "").replace(" ", "")
        with self.ctx.db.read() as s:
            require(s, actor, Permission.assist_enrollment)
            now = self.ctx.clock.now()
            user = self._user_for_confirm(s, user_id)
            device = s.get(SecurityDevice, device_id)
            if device is None:
                raise NotFound(f"Device #{device_id} no longer exists; start the opt-in again.")
            holding = _holding(s, user.id, device.id)
            if holding is None:
                check_share(s, device, user, now)
            elif device.state is not DeviceState.pending:
                raise RuleViolation(f"This {device.kind.label} is {device.state.label.lower()}, not waiting for "
                                    f"activation; start the opt-in again.")
            if device.expires_at is not None and now >= device.expires_at:
                raise VerificationFailed(f"This {device.kind.label} expired on {device.expires_at:%d %b %Y %H:%M} "
                                         f"UTC and cannot be activated. Cancel and issue a new card.")
        outcome: dict[str, Enrolled | AwaitingApproval] = {}

        def enroll(s: Session, device: SecurityDevice, _result: VerificationResult) -> None:
            now = self.ctx.clock.now()
            user = self._user_for_confirm(s, user_id)  # again, inside the transaction that changes it
            shared = _holding(s, user.id, device.id) is None
            why = review_reason(s, device, user, load_figures(s)) if shared else None
            if why is not None:
                request = open_request(s, actor.username, device, user, why, now)
                self._revoke_pending(s, actor, user, now, "the client chose a shared device")
                outcome["result"] = AwaitingApproval(user.id, device.id, request.id, why)
                return
            if shared:
                share(s, device, user, now, actor)
            else:
                device.state = DeviceState.active
                device.activated_at = now
                audit.record(s, at=now, actor=actor.username, action="device.activated",
                             summary=f"{device.kind.label} activated for {user.username} with a good code",
                             account_id=user.account_id, user_id=user.id, device_id=device.id,
                             details={"serial": device.serial})
            # Another unfinished opt-in device of this user (a different path tried first) is not needed now.
            self._revoke_pending(s, actor, user, now, "another device was activated")
            lifted = []
            for r in user.restrictions:
                if r.lifted_at is None and r.restriction in OPT_OUT_RESTRICTIONS:
                    r.lifted_at = now
                    lifted.append(r.restriction)
            user.sls_state = SlsState.enrolled
            refresh_active_devices(s, user)
            limits = user_limits(s, user, load_figures(s), now)
            audit.record(s, at=now, actor=actor.username, action="user.enrolled",
                         summary=f"{user.username} enrolled in SLS with {device.kind.label}"
                                 + (" (shared)" if shared else "") + "; opt-out restrictions lifted; withdrawals "
                                 + limits.text,
                         account_id=user.account_id, user_id=user.id, device_id=device.id,
                         details={"device_kind": device.kind.name, "shared": shared,
                                  "restrictions_lifted": [r.name for r in lifted], "limits": limits.text})
            outcome["result"] = Enrolled(user.id, device.id, shared, tuple(lifted))

        self.verification.verify(actor, device_id, answer, challenge_id=challenge_id, user_id=user_id,
                                 permission=Permission.assist_enrollment, on_success=enroll)
        return outcome["result"]

    def cancel(self, actor: Actor, user_id: int, device_id: int | None = None, *,
               expected_version: int | None = None) -> bool:
        """Undo an unfinished opt-in: its pending device is revoked and no longer held, the user is opted out
        again with the restrictions it had. False when there was nothing to undo."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.assist_enrollment)
            now = self.ctx.clock.now()
            user = existing_user(s, user_id)
            require_version(user, expected_version, user.username)
            require_rights(s, user)
            if user.sls_state is not SlsState.pending:
                return False
            revoked = self._revoke_pending(s, actor, user, now, "opt-in cancelled")
            withdraw_pending(s, actor.username, user, now, "opt-in cancelled")
            # Back where it came from: restrictions in force mean it was opted out; none, that it was enrolled
            # and had lost its last device (restrictions are lifted only on enrollment).
            restricted = any(r.lifted_at is None for r in user.restrictions)
            user.sls_state = SlsState.opted_out if restricted else SlsState.no_device
            refresh_active_devices(s, user)
            audit.record(s, at=now, actor=actor.username, action="optin.cancelled",
                         summary=f"Opt-in of {user.username} cancelled; back to {user.sls_state.label.lower()}",
                         account_id=user.account_id, user_id=user.id, device_id=device_id,
                         details={"revoked_devices": revoked})
            return True

    # --- opting out ------------------------------------------------------------------------------
    def opt_out(self, actor: Actor, user_id: int, acknowledgement_text: str, acknowledged: bool, *,
                expected_version: int | None = None) -> OptedOut:
        """Opt an enrolled user out after the client's explicit acknowledgement of the risks (recorded with the
        staff member and time); the opt-out restrictions apply from then on."""
        statement = (acknowledgement_text or "").strip()
        if not acknowledged:
            raise InvalidInput("The client has not acknowledged the risks of opting out. Read the statement to "
                               "the client and tick the acknowledgement only when they agree. Nothing was changed.")
        if not statement:
            raise InvalidInput("The acknowledgement statement is empty; it must say what the client agreed to. "
                               "Nothing was changed.")
        with self.ctx.db.write() as s:
            require(s, actor, Permission.assist_enrollment)
            now = self.ctx.clock.now()
            fig = load_figures(s)
            user = existing_user(s, user_id)
            require_version(user, expected_version, user.username)
            require_rights(s, user)
            if user.sls_state is SlsState.opted_out:
                raise RuleViolation(f"{user.username} is already opted out of the Secure Login System.")
            if user.sls_state is SlsState.pending:
                raise RuleViolation(f"{user.username} has an opt-in in progress. Cancel the opt-in first; the user "
                                    f"is then opted out.")
            before = user_limits(s, user, fig, now)
            ack = OptOutAcknowledgement(user_id=user.id, acknowledged_at=now, recorded_by=actor.username,
                                        statement=statement)
            s.add(ack)
            in_force = {r.restriction for r in user.restrictions if r.lifted_at is None}
            imposed = tuple(r for r in OPT_OUT_RESTRICTIONS if r not in in_force)
            for r in imposed:
                s.add(UserRestriction(user=user, restriction=r, imposed_at=now))
            outcomes = tuple(self._release_devices(s, actor, user, now, fig.return_due_days))
            # A share waiting for compliance would otherwise give an opted-out user a device on approval.
            withdrawn = tuple(withdraw_pending(s, actor.username, user, now, "user opted out"))
            user.sls_state = SlsState.opted_out
            refresh_active_devices(s, user)
            s.flush()
            after = user_limits(s, user, fig, now)
            audit.record(s, at=now, actor=actor.username, action="user.opted_out",
                         summary=f"{user.username} opted out of SLS; risks acknowledged; restrictions applied; "
                                 f"withdrawals limited to {after.best.text}",
                         account_id=user.account_id, user_id=user.id,
                         details={"acknowledgement_id": ack.id, "statement": statement,
                                  "restrictions_imposed": [r.name for r in imposed],
                                  "devices": [{"id": o.device_id, "outcome": o.outcome} for o in outcomes],
                                  "limits_before": before.text, "limits_after": after.best.text,
                                  "sharing_requests_withdrawn": list(withdrawn)})
            return OptedOut(user.id, ack.id, imposed, outcomes, before.text, after.best.text, withdrawn)

    def opt_out_statement(self) -> str:
        """The acknowledgement the client hears, stating the withdrawal limits as currently set."""
        with self.ctx.read() as s:
            return opt_out_terms.statement(load_figures(s))

    def opt_out_explanations(self) -> dict[Restriction, str]:
        """What each opt-out restriction means, the withdrawal limits in figures."""
        with self.ctx.read() as s:
            return opt_out_terms.restriction_explanations(load_figures(s))

    # --- internals -------------------------------------------------------------------------------
    def _user_for_opt_in(self, s: Session, user_id: int, expected_version: int | None = None) -> User:
        """The user, as the desk saw it (`expected_version`, the version on its screen, when it has one)."""
        user = existing_user(s, user_id)
        require_version(user, expected_version, user.username)
        require_rights(s, user)
        if user.sls_state is SlsState.enrolled:
            raise RuleViolation(f"{user.username} is already enrolled in the Secure Login System; there is nothing "
                                f"to opt back into.")
        return user

    def _user_for_confirm(self, s: Session, user_id: int) -> User:
        user = existing_user(s, user_id)
        require_rights(s, user)
        if user.sls_state is not SlsState.pending:
            state = "already enrolled" if user.sls_state is SlsState.enrolled else "not waiting for a code"
            raise RuleViolation(f"{user.username} is {state}; start the opt-in again if needed.")
        if pending_request_of(s, user) is not None:
            raise RuleViolation(f"{user.username}'s request to share a device waits for compliance approval; "
                                f"nothing more is needed from the client now.")
        return user

    def _other_user(self, s: Session, user: User, other_username: str) -> User:
        name = (other_username or "").strip().lower()
        if not USERNAME.fullmatch(name):
            raise InvalidInput(f"{other_username.strip()!r} is not a username. Ask the client to spell the other "
                               f"username again (letters and digits, e.g. jsmit002).")
        other = s.scalar(select(User).where(User.username == name))
        if other is None:
            raise NotFound(f"There is no username {name}. Ask the client to spell it again.")
        if other.id == user.id:
            raise InvalidInput(f"{name} is the username being enrolled; ask for the other username, the one that "
                               f"already has the device.")
        return other

    def _new_device(self, s: Session, user: User, kind: DeviceKind, now: dt.datetime) -> SecurityDevice:
        device = SecurityDevice(kind=kind, state=DeviceState.pending, account_id=user.account_id, issued_at=now,
                                failed_attempts=0, locked=False)
        s.add(device)
        s.flush()
        return device

    def _hold(self, s: Session, user: User, device: SecurityDevice, now: dt.datetime) -> None:
        has_preferred = s.scalar(select(DeviceHolding.id).where(DeviceHolding.user_id == user.id,
                                                                DeviceHolding.preferred.is_(True)).limit(1))
        s.add(DeviceHolding(user=user, device=device, preferred=has_preferred is None, since=now))
        s.flush()

    def _make_pending(self, s: Session, actor: Actor, user: User, now: dt.datetime, path: str, device_id: int,
                      details: dict[str, Any] | None = None) -> None:
        user.sls_state = SlsState.pending
        audit.record(s, at=now, actor=actor.username, action="user.pending",
                     summary=f"Opt-in of {user.username} started ({path}); pending until the client's first code",
                     account_id=user.account_id, user_id=user.id, device_id=device_id,
                     details={"path": path, **(details or {})})

    def _abandon_unfinished(self, s: Session, actor: Actor, user: User, now: dt.datetime) -> None:
        """A pending user left by a wizard that was closed: its unfinished device goes before a new start."""
        if user.sls_state is SlsState.pending:
            self._revoke_pending(s, actor, user, now, "unfinished opt-in replaced by a new one")
            withdraw_pending(s, actor.username, user, now, "unfinished opt-in replaced by a new one")

    def _revoke_pending(self, s: Session, actor: Actor, user: User, now: dt.datetime, why: str) -> list[int]:
        revoked = []
        for h in list(s.scalars(_pending_opt_in_holdings(user))):
            device = h.device
            s.delete(h)
            _revoke(device)
            revoked.append(device.id)
            audit.record(s, at=now, actor=actor.username, action="device.revoked",
                         summary=f"{device.kind.label} of {user.username} revoked before activation: {why}",
                         account_id=user.account_id, user_id=user.id, device_id=device.id)
        s.flush()
        return revoked

    def _release_devices(self, s: Session, actor: Actor, user: User, now: dt.datetime,
                         return_due_days: int) -> Iterator[DeviceOutcome]:
        holdings = list(s.scalars(select(DeviceHolding).join(SecurityDevice)
                                  .where(DeviceHolding.user_id == user.id, SecurityDevice.state.in_(LIVE_STATES))))
        for h in holdings:
            device = h.device
            s.delete(h)
            s.flush()
            others = list(s.scalars(select(User.username).join(DeviceHolding, DeviceHolding.user_id == User.id)
                                    .where(DeviceHolding.device_id == device.id).order_by(User.username)))
            if others:
                outcome = f"stays active for {', '.join(others)}"
                action = "device.unshared"
            elif device.kind.is_hardware:
                # The card is still with the client, who must mail it back: the holding stays as the record
                # of who has it (the returns list names them).
                s.add(DeviceHolding(user=user, device=device, preferred=False, since=h.since))
                device.state = DeviceState.return_pending
                device.return_due_at = now + dt.timedelta(days=return_due_days)
                device.return_reason = ReturnReason.opted_out
                outcome = f"no longer needed: to be returned by {device.return_due_at:%d %b %Y}"
                action = "device.return_requested"
            else:
                _revoke(device)
                outcome = "revoked"
                action = "device.revoked"
            audit.record(s, at=now, actor=actor.username, action=action,
                         summary=f"{device.kind.label} no longer used by {user.username} (opt-out): {outcome}",
                         account_id=user.account_id, user_id=user.id, device_id=device.id)
            refresh_holders(s, device)
            yield DeviceOutcome(device.id, device.kind.label + (f" {device.serial}" if device.serial else ""),
                                outcome)


def _revoke(device: SecurityDevice) -> None:
    """Out of use for good: its secret is wiped so no code from it can ever be accepted."""
    device.state = DeviceState.revoked
    device.sealed_secret = None
    device.secret_hash = None
    device.secret_salt = None


def _pending_opt_in_holdings(user: User) -> Select[DeviceHolding]:
    return (select(DeviceHolding).join(SecurityDevice)
            .where(DeviceHolding.user_id == user.id, SecurityDevice.state == DeviceState.pending,
                   SecurityDevice.kind.in_(OPT_IN_KINDS)))


def _pending_opt_in_ids(s: Session, user: User) -> list[int]:
    return [h.device_id for h in s.scalars(_pending_opt_in_holdings(user))]


def _holding(s: Session, user_id: int, device_id: int) -> DeviceHolding | None:
    return s.scalar(select(DeviceHolding).where(DeviceHolding.user_id == user_id,
                                                DeviceHolding.device_id == device_id))


def _active_devices(s: Session, owner: User) -> list[SecurityDevice]:
    """`owner`'s active, unlocked devices, most protective first (preferred first among equals)."""
    rows = s.execute(select(SecurityDevice, DeviceHolding.preferred)
                     .join(DeviceHolding, DeviceHolding.device_id == SecurityDevice.id)
                     .where(DeviceHolding.user_id == owner.id, SecurityDevice.state == DeviceState.active,
                            SecurityDevice.locked.is_(False))).all()
    rows = sorted(rows, key=lambda r: (-r[0].kind.protection_rank, not r[1], r[0].id))
    return [r[0] for r in rows]
