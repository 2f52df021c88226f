"""Security devices through their life: DSC+ stock, shipping and activation, several devices per user,
unsharing, lost/stolen/damaged reports, replacement and revocation.

Security rights: the changes a client asks for about their own setup (preferred device, sharing, unsharing)
pass the rights gate for the user concerned, as the opt-in does. Reporting a loss and temporary access do not:
they are for the verified caller's own device, and refusing to stop a lost device would only help a thief.
Stock, shipping, returns and charges are back-office work on the firm's side.

Fees: a replacement DSC+ costs the replacement fee (charged on the old device) unless the old one failed by
its battery; that one is replaced free but must come back by its due date, or the overdue run charges it
(returns.py). Lost and stolen cards cannot come back: their fee is charged when the replacement is ordered.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import audit, device_list, vault
from console.models.arguments import checked_arguments
from console.models.charges import add_device_charge, existing_charge, hold_reserve, money
from console.models.concurrency import require_version
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.device_list import DeviceQuery, DeviceRow  # noqa: F401  (re-exported for the views)
from console.models.device_rules import (
    end_sms_after_activation,
    follow_devices,
    holders_of,
    require_keeps_active_device,
    require_keeps_holder,
    settle_holders,
)
from console.models.entities import DeviceHolding, SecurityDevice, User, UserRestriction
from console.models.enums import ChargeKind, DeviceKind, DeviceState, ReturnReason, SlsState
from console.models.errors import InvalidInput, NotFound, RuleViolation
from console.models.lookups import existing_user
from console.models.permissions import Permission, require
from console.models.returns import fee_for, start_return
from console.models.rights import require_rights
from console.models.settings import Figures, load_figures
from console.models.sharing_review import open_request, review_reason
from console.models.temporary_access import IssuedPasscode, issue_passcode_in
from console.models.verification import VerificationResult, VerificationService

SERIAL = re.compile(r"DSC[0-9]{9}", re.ASCII)
SERIAL_RANGE = re.compile(r"(DSC[0-9]{9})-(DSC[0-9]{9})", re.ASCII)
MAX_BATCH = 1000

# What a caller may report, and the state the device takes.
# What can be reported of a device, and the state it then takes.
REPORT_STATES = {ReturnReason.lost: DeviceState.lost, ReturnReason.stolen: DeviceState.stolen,
                 ReturnReason.damaged: DeviceState.damaged, ReturnReason.battery_failure: DeviceState.damaged}
REPORT_LABELS = {reason: reason.label for reason in REPORT_STATES}
REPORTABLE_STATES = {DeviceState.active, DeviceState.shipped, DeviceState.pending}
REPLACEABLE_STATES = {DeviceState.lost, DeviceState.stolen, DeviceState.damaged}
REVOCABLE_STATES = {DeviceState.active, DeviceState.shipped, DeviceState.pending}


# --- results ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportResult:
    device_id: int
    state: DeviceState
    temporary_passcode: IssuedPasscode | None = None


@dataclass(frozen=True)
class DscEligibility:
    account_number: str
    equity_cents: int
    minimum_cents: int
    eligible: bool


@dataclass(frozen=True)
class ReplacementResult:
    old_device_id: int
    new_device_id: int
    new_serial: str
    user_id: int
    charged_cents: int
    return_due_at: dt.datetime | None
    activation_due_at: dt.datetime


# --- input -----------------------------------------------------------------------------------------
def parse_serials(text_or_items: str | Iterable[str]) -> list[str]:
    """Serials from text (spaces, commas or lines; ranges like DSC000000001-DSC000000010), upper-cased.

    Refuses, naming the first bad entry, a malformed serial, a serial given twice or a batch that is too big.
    """
    items = text_or_items.replace(",", " ").split() if isinstance(text_or_items, str) else list(text_or_items)
    out: list[str] = []
    for raw in items:
        item = raw.strip().upper()
        if not item:
            continue
        m = SERIAL_RANGE.fullmatch(item)
        if m:
            first, last = int(m.group(1)[3:]), int(m.group(2)[3:])
            if last < first or last - first >= MAX_BATCH:
                raise InvalidInput(f"The range {item} is not valid: the second serial must follow the first, "
                                   f"at most {MAX_BATCH} cards. Nothing was received.")
            out.extend(f"DSC{n:09d}" for n in range(first, last + 1))
        elif SERIAL.fullmatch(item):
            out.append(item)
        else:
            raise InvalidInput(f"{raw.strip()!r} is not a DSC+ serial number: a serial is DSC followed by 9 digits "
                               f"(e.g. DSC000012345). Correct it and receive the batch again; nothing was received.")
        if len(out) > MAX_BATCH:
            raise InvalidInput(f"A batch holds at most {MAX_BATCH} cards; split it. Nothing was received.")
    if not out:
        raise InvalidInput("Enter at least one DSC+ serial number (e.g. DSC000012345).")
    seen: set[str] = set()
    for serial in out:
        if serial in seen:
            raise InvalidInput(f"{serial} appears twice in this batch. Remove the repeat; nothing was received.")
        seen.add(serial)
    return out


# --- the service -----------------------------------------------------------------------------------
@checked_arguments
@retries_conflicts
class DeviceService:
    def __init__(self, ctx: ServiceContext, verification: VerificationService | None = None) -> None:
        self.ctx = ctx
        self.verification = verification or VerificationService(ctx)

    # reading ---------------------------------------------------------------------------------------
    def count(self, query: DeviceQuery = DeviceQuery()) -> int:
        with self.ctx.read() as s:
            return device_list.count(s, query, self.ctx.clock.now())

    def window(self, query: DeviceQuery, offset: int, limit: int) -> list[DeviceRow]:
        """One window of devices, newest first, filtered in SQL (device_list.py)."""
        with self.ctx.read() as s:
            return device_list.window(s, query, offset, limit, self.ctx.clock.now())

    def offset_of(self, query: DeviceQuery, device_id: int) -> int | None:
        """The row of a device in the list `query` shows (newest first), or None when it does not show it."""
        with self.ctx.read() as s:
            return device_list.offset_of(s, query, device_id, self.ctx.clock.now())

    def get(self, device_id: int) -> DeviceRow:
        with self.ctx.read() as s:
            _device(s, device_id)
            return device_list.one(s, device_id, self.ctx.clock.now())

    def find_by_serial(self, serial: str) -> int:
        """The device with this serial (as scanned at the returns desk); NotFound with a readable message."""
        wanted = (serial or "").strip().upper()
        device_id = None
        if "\x00" not in wanted:  # no serial holds one (and PostgreSQL refuses it in a query)
            with self.ctx.read() as s:
                device_id = s.scalar(select(SecurityDevice.id).where(SecurityDevice.serial == wanted))
        if device_id is None:
            raise NotFound(f"There is no device with serial {wanted or '(blank)'} on record. Check the serial "
                           f"printed on the back of the card.")
        return device_id

    def in_stock_count(self) -> int:
        return self.count(DeviceQuery(kind=DeviceKind.dsc_plus, state=DeviceState.in_stock))

    # stock -----------------------------------------------------------------------------------------
    def receive_stock(self, actor: Actor, serials: str | Iterable[str]) -> list[int]:
        """Receive DSC+ cards into stock, one or a batch: all or nothing. Each card's seed is sealed at once."""
        wanted = parse_serials(serials)
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_stock)
            known = set(s.scalars(select(SecurityDevice.serial).where(SecurityDevice.serial.in_(wanted))))
            if known:
                first = next(x for x in wanted if x in known)
                more = f" (and {len(known) - 1} more)" if len(known) > 1 else ""
                raise InvalidInput(f"{first}{more} is already on record; a serial is received only once. Remove it "
                                   f"from the batch and try again; nothing was received.")
            now = self.ctx.clock.now()
            ids = []
            for serial in wanted:
                device = SecurityDevice(kind=DeviceKind.dsc_plus, serial=serial, state=DeviceState.in_stock,
                                        received_at=now)
                s.add(device)
                s.flush()
                # The card's secret, sealed and bound to this row (the manufacturer's seed file in production).
                seed = base64.b32encode(os.urandom(20)).decode()
                vault.store_seed(s, self.ctx.box, device, seed)
                audit.record(s, at=now, actor=actor.username, action="device.received_into_stock",
                             summary=f"DSC+ {serial} received into stock", device_id=device.id,
                             details={"serial": serial, "batch_size": len(wanted)})
                ids.append(device.id)
            return ids

    def ship(self, actor: Actor, device_id: int, user_id: int, *, expected_version: int | None = None,
             user_version: int | None = None) -> DeviceRow:
        """Ship a card from stock to a user: activation window starts; a reserve equal to the fee is held.
        The versions are those of the card and the user as the desk showed them."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_stock)
            device = _device(s, device_id)
            require_version(device, expected_version, _label(device))
            user = existing_user(s, user_id)
            require_version(user, user_version, user.username)
            require_rights(s, user)
            fig = load_figures(s)
            if user.account.equity_cents < fig.dsc_min_equity_cents:
                raise RuleViolation(f"A DSC+ is offered only to accounts with equity of at least "
                                    f"{money(fig.dsc_min_equity_cents)}; {user.account.number} has "
                                    f"{money(user.account.equity_cents)}. Offer the IB Key app instead.")
            self._ship_in(s, actor, device, user, fig=fig, replaces=None)
        return self.get(device_id)

    def _ship_in(self, s: Session, actor: Actor, device: SecurityDevice, user: User, *, fig: Figures,
                 replaces: SecurityDevice | None) -> None:
        if device.kind is not DeviceKind.dsc_plus or device.state is not DeviceState.in_stock:
            raise RuleViolation(f"{_label(device)} is {device.state.label.lower()}, not in "
                                f"stock; only a DSC+ in stock can be shipped. Pick another card.")
        now = self.ctx.clock.now()
        device.state = DeviceState.shipped
        device.account_id = user.account_id
        device.issued_at = device.shipped_at = now
        device.activation_due_at = now + dt.timedelta(days=fig.dsc_activation_window_days)
        device.replaces_id = replaces.id if replaces is not None else None
        s.add(DeviceHolding(user=user, device=device, preferred=False, since=now))
        fee = fee_for(device.kind, fig)
        hold_reserve(s, device, fee, now)
        audit.record(s, at=now, actor=actor.username, action="device.shipped",
                     summary=f"DSC+ {device.serial} shipped to {user.username}"
                             + (f" to replace {replaces.serial}" if replaces is not None else "")
                             + f"; activate by {device.activation_due_at:%Y-%m-%d}; reserve of {money(fee)} held",
                     account_id=user.account_id, user_id=user.id, device_id=device.id,
                     details={"serial": device.serial, "activation_due_at": device.activation_due_at.isoformat(),
                              "reserve_cents": fee, "replaces_id": device.replaces_id})

    def activate_shipped(self, actor: Actor, device_id: int, challenge_id: int, response: str) -> DeviceRow:
        """Activate a shipped DSC+ with the response to a challenge; the user's other devices stay active."""
        with self.ctx.db.read() as s:
            require(s, actor, Permission.manage_devices)
            device = _device(s, device_id)
            if device.state is not DeviceState.shipped:
                raise RuleViolation(f"{_label(device)} is {device.state.label.lower()}; "
                                    f"only a shipped DSC+ is activated.")

        def on_success(session: Session, dev: SecurityDevice, _result: VerificationResult) -> None:
            if dev.state is not DeviceState.shipped:
                raise RuleViolation("This card was activated or changed at another desk; refresh the view.")
            now = self.ctx.clock.now()
            dev.state = DeviceState.active
            dev.activated_at = now
            users = settle_holders(session, dev)
            for user in users:
                _enroll_if_waiting(session, actor, user, dev, now)
            end_sms_after_activation(session, actor.username, dev, now)
            late = bool(dev.activation_due_at and now > dev.activation_due_at)
            audit.record(session, at=now, actor=actor.username, action="device.activated",
                         summary=f"DSC+ {dev.serial} activated for {', '.join(u.username for u in users)}"
                                 + (f" after its activation window (due {dev.activation_due_at:%Y-%m-%d}"
                                    + ("; required at login since "
                                       f"{dev.required_at_login_since:%Y-%m-%d}" if dev.required_at_login_since
                                       else "") + ")" if late else ""),
                         account_id=dev.account_id, user_id=users[0].id if users else None, device_id=dev.id,
                         details={"late": late, "required_at_login_since": dev.required_at_login_since.isoformat()
                                  if dev.required_at_login_since else None})

        self.verification.verify(actor, device_id, response, challenge_id=challenge_id,
                                 permission=Permission.manage_devices, on_success=on_success)
        return self.get(device_id)

    def require_late_activations(self, actor: Actor) -> int:
        """A mailed device not activated within its window is required at login from now on (the start-up run
        calls this); each is marked once and audited. Returns how many were marked."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            require(s, actor, Permission.run_overdue)
            late = list(s.scalars(select(SecurityDevice).where(
                SecurityDevice.state == DeviceState.shipped, SecurityDevice.activation_due_at < now,
                SecurityDevice.required_at_login_since.is_(None)).order_by(SecurityDevice.id)))
            for device in late:
                device.required_at_login_since = now
                users = holders_of(s, device)
                audit.record(s, at=now, actor=actor.username, action="device.required_at_login",
                             summary=f"{_label(device)} not activated by {device.activation_due_at:%Y-%m-%d}: "
                                     f"required at login from now on for {', '.join(u.username for u in users)}",
                             account_id=device.account_id, user_id=users[0].id if users else None,
                             device_id=device.id,
                             details={"activation_due_at": device.activation_due_at.isoformat()
                                      if device.activation_due_at else None})
            return len(late)

    # holders ---------------------------------------------------------------------------------------
    def set_preferred(self, actor: Actor, user_id: int, device_id: int) -> None:
        """The device the user is offered first at login; one per user, among active devices."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_devices)
            user = existing_user(s, user_id)
            require_rights(s, user)
            holding = _holding(s, user, device_id)
            device = holding.device
            if device.state is not DeviceState.active:
                raise RuleViolation(f"Only an active device can be preferred; this {device.kind.label} is "
                                    f"{device.state.label.lower()}.")
            if holding.preferred:
                return
            for h in s.scalars(select(DeviceHolding).where(DeviceHolding.user_id == user.id)):
                h.preferred = h.id == holding.id
            audit.record(s, at=self.ctx.clock.now(), actor=actor.username, action="device.preferred",
                         summary=f"{_label(device)} is now the preferred device of "
                                 f"{user.username}", account_id=user.account_id, user_id=user.id, device_id=device.id)

    def share(self, actor: Actor, device_id: int, user_id: int, answer: str,
              challenge_id: int | None = None) -> int | None:
        """Share a device with a further username of the same person, proven by a good code from the device
        under that username (rules in sharing.py). Returns the id of a sharing request when the share waits for
        compliance approval (sharing_review.py), else None (shared at once)."""
        from console.models import sharing  # the sharing rules

        with self.ctx.db.read() as s:
            require(s, actor, Permission.manage_devices)
            user = existing_user(s, user_id)
            require_rights(s, user)
            if user.sls_state not in (SlsState.enrolled, SlsState.no_device):
                raise RuleViolation(f"{user.username} is {user.sls_state.label.lower()}: share a device with them "
                                    f"through the opt-in (\"I already have access to a Secure Login Device under a "
                                    f"different username\").")
            sharing.check_share(s, _device(s, device_id), user, self.ctx.clock.now())

        requests: list[int] = []

        def on_success(session: Session, dev: SecurityDevice, _result: VerificationResult) -> None:
            user = existing_user(session, user_id)
            now = self.ctx.clock.now()
            why = review_reason(session, dev, user, load_figures(session))
            if why is not None:  # possession proven; the share itself waits for compliance
                sharing.check_share(session, dev, user, now)
                requests.append(open_request(session, actor.username, dev, user, why, now).id)
                return
            sharing.share(session, dev, user, now, actor)
            settle_holders(session, dev)
            follow_devices(session, [user], actor=actor.username, at=self.ctx.clock.now(), why="device shared")

        self.verification.verify(actor, device_id, answer, challenge_id=challenge_id, user_id=user_id,
                                 permission=Permission.manage_devices, on_success=on_success)
        return requests[0] if requests else None

    def unshare(self, actor: Actor, device_id: int, user_id: int, *, expected_version: int | None = None) -> None:
        """Stop a user holding a shared device. The device keeps at least one holder, and an enrolled user
        keeps at least one active device. `expected_version`: the device as the desk showed it."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_devices)
            user = existing_user(s, user_id)
            if expected_version is not None:
                require_version(_device(s, device_id), expected_version, _label(_device(s, device_id)))
            require_rights(s, user)
            holding = _holding(s, user, device_id)
            device = holding.device
            s.delete(holding)
            require_keeps_holder(s, device)
            require_keeps_active_device(s, [user], f"Removing {user.username} from this {device.kind.label}")
            settle_holders(s, device)
            remaining = ", ".join(u.username for u in holders_of(s, device))
            audit.record(s, at=self.ctx.clock.now(), actor=actor.username, action="device.unshared",
                         summary=f"{user.username} no longer shares {_label(device)}; "
                                 f"still held by {remaining}", account_id=user.account_id, user_id=user.id,
                         device_id=device.id)

    # loss, replacement, revocation -----------------------------------------------------------------
    def report(self, actor: Actor, device_id: int, reason: ReturnReason | str, *, user_id: int | None = None,
               issue_temporary_passcode: bool = False, identity_verified: bool = False,
               note: str = "", expected_version: int | None = None) -> ReportResult:
        """Mark a device lost, stolen, damaged or failed by its battery; it stops working at once.

        With `issue_temporary_passcode`, a passcode for `user_id` is issued in the same transaction, which is
        how a user whose only device it was keeps access (the last-active-device rule refuses otherwise).
        """
        reason = _reported(reason)
        if issue_temporary_passcode and user_id is None:
            raise InvalidInput("Choose the user who receives the temporary passcode.")
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_devices)
            if issue_temporary_passcode:
                require(s, actor, Permission.issue_temporary_access)
            device = _device(s, device_id)
            require_version(device, expected_version, _label(device))
            if device.kind.is_temporary:
                raise RuleViolation(f"A {device.kind.label} is not reported lost; revoke it instead.")
            if reason is ReturnReason.battery_failure and not device.kind.is_hardware:
                raise RuleViolation(f"A {device.kind.label} has no battery; report it lost or damaged.")
            if device.state not in REPORTABLE_STATES:
                raise RuleViolation(f"This {device.kind.label} is {device.state.label.lower()} already; only a "
                                    f"device in service or on its way can be reported.")
            now = self.ctx.clock.now()
            was = device.state
            device.state = REPORT_STATES[reason]
            if device.state is DeviceState.damaged:
                device.return_reason = reason
            users = holders_of(s, device)
            issued = None
            if issue_temporary_passcode and user_id is not None:
                user = existing_user(s, user_id)
                if user.id not in {u.id for u in users}:
                    raise RuleViolation(f"{user.username} does not hold this device; choose one of its holders.")
                issued = issue_passcode_in(s, self.ctx, actor, user, identity_verified=identity_verified,
                                           reason=f"{device.kind.label} {REPORT_LABELS[reason].lower()}")
            require_keeps_active_device(s, users, f"Reporting this {device.kind.label} "
                                                  f"{REPORT_LABELS[reason].lower()}")
            settle_holders(s, device)
            audit.record(s, at=now, actor=actor.username, action=f"device.reported_{reason.value}",
                         summary=f"{_label(device)} reported "
                                 f"{REPORT_LABELS[reason].lower()} (was {was.label.lower()})"
                                 + (f": {note.strip()}" if note.strip() else ""),
                         account_id=device.account_id, user_id=user_id or (users[0].id if users else None),
                         device_id=device.id,
                         details={"reason": reason.value, "previous_state": was.value,
                                  "holders": [u.username for u in users]})
            return ReportResult(device.id, device.state, issued)

    def order_replacement(self, actor: Actor, device_id: int, *, user_id: int | None = None,
                          serial: str | None = None) -> ReplacementResult:
        """Ship a DSC+ from stock to replace a lost, stolen or damaged one, charging the fee unless the old
        card's battery failed. A damaged card is to be returned by its due date."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_devices)
            old = _device(s, device_id)
            if old.kind is not DeviceKind.dsc_plus:
                raise RuleViolation(f"Only a DSC+ is replaced from stock; a {old.kind.label} is re-issued through "
                                    f"the opt-in options.")
            if old.state not in REPLACEABLE_STATES:
                raise RuleViolation(f"DSC+ {old.serial} is {old.state.label.lower()}; report it lost, stolen or "
                                    f"damaged before ordering a replacement.")
            earlier = s.scalar(select(SecurityDevice.serial).where(SecurityDevice.replaces_id == old.id))
            if earlier is not None:
                raise RuleViolation(f"DSC+ {old.serial} was already replaced by {earlier}.")
            holders = holders_of(s, old)
            if user_id is None:
                if len(holders) != 1:
                    raise InvalidInput("This card has several holders; choose who receives the replacement.")
                user = holders[0]
            else:
                user = existing_user(s, user_id)
                if user.id not in {u.id for u in holders}:
                    raise RuleViolation(f"{user.username} does not hold DSC+ {old.serial}; the replacement goes to "
                                        f"one of its holders.")
            new = self._pick_stock(s, serial)
            fig = load_figures(s)
            now = self.ctx.clock.now()
            self._ship_in(s, actor, new, user, fig=fig, replaces=old)
            charged = 0
            battery = old.return_reason is ReturnReason.battery_failure
            if not battery and existing_charge(s, old.id, ChargeKind.replacement) is None:
                charged = fee_for(old.kind, fig)
                add_device_charge(s, old, ChargeKind.replacement, charged, actor=actor, at=now, user_id=user.id)
            if old.state is DeviceState.damaged:
                start_return(s, old, reason=old.return_reason or ReturnReason.damaged, at=now, fig=fig, actor=actor,
                             user_id=user.id)
            audit.record(s, at=now, actor=actor.username, action="device.replacement_ordered",
                         summary=f"DSC+ {old.serial} replaced by {new.serial} for {user.username}; "
                                 + (f"fee {money(charged)} charged" if charged else
                                    "no fee (battery failure)" if battery else "no fee"),
                         account_id=old.account_id, user_id=user.id, device_id=old.id,
                         details={"new_device_id": new.id, "new_serial": new.serial, "charged_cents": charged})
            assert new.serial is not None and new.activation_due_at is not None  # set for every shipped DSC+
            return ReplacementResult(old.id, new.id, new.serial, user.id, charged, old.return_due_at,
                                     new.activation_due_at)

    def _pick_stock(self, s: Session, serial: str | None) -> SecurityDevice:
        if serial:
            wanted = serial.strip().upper()
            device = s.scalar(select(SecurityDevice).where(SecurityDevice.serial == wanted))
            if device is None:
                raise NotFound(f"There is no card {wanted} on record. Check the serial on the card.")
            return device
        device = s.scalars(select(SecurityDevice).where(SecurityDevice.kind == DeviceKind.dsc_plus,
                                                        SecurityDevice.state == DeviceState.in_stock)
                           .order_by(SecurityDevice.received_at, SecurityDevice.id).limit(1)).first()
        if device is None:
            raise RuleViolation("There is no DSC+ in stock. Receive cards into stock first, then order the "
                                "replacement.")
        return device

    def revoke(self, actor: Actor, device_id: int, note: str = "", *,
               expected_version: int | None = None) -> DeviceRow:
        """Take a device out of service because it is no longer needed; a DSC+ is then to be returned."""
        with self.ctx.db.write() as s:
            require(s, actor, Permission.manage_devices)
            device = _device(s, device_id)
            require_version(device, expected_version, _label(device))
            if device.state not in REVOCABLE_STATES:
                raise RuleViolation(f"This {device.kind.label} is {device.state.label.lower()}; only a device in "
                                    f"service or on its way can be revoked.")
            now = self.ctx.clock.now()
            was = device.state
            users = holders_of(s, device)
            for user in users:
                require_rights(s, user)
            if device.kind.is_hardware:
                start_return(s, device, reason=ReturnReason.no_longer_needed, at=now, fig=load_figures(s), actor=actor)
            else:
                device.state = DeviceState.revoked
            require_keeps_active_device(s, users, f"Revoking this {device.kind.label}")
            settle_holders(s, device)
            audit.record(s, at=now, actor=actor.username, action="device.revoked",
                         summary=f"{_label(device)} revoked (was {was.label.lower()})"
                                 + (f": {note.strip()}" if note.strip() else ""),
                         account_id=device.account_id, user_id=users[0].id if users else None,
                         device_id=device.id,
                         details={"previous_state": was.value, "holders": [u.username for u in users]})
        return self.get(device_id)

    def oldest_in_stock(self) -> str | None:
        """The serial the stock would give first (offered in the replacement dialog, never chosen silently)."""
        with self.ctx.read() as s:
            return s.scalar(select(SecurityDevice.serial).where(SecurityDevice.kind == DeviceKind.dsc_plus,
                                                                SecurityDevice.state == DeviceState.in_stock)
                            .order_by(SecurityDevice.received_at, SecurityDevice.id).limit(1))

    def replacement_fee(self, device_id: int) -> int:
        """What ordering a replacement for this card would charge, in cents (0 when the battery failed or the
        fee was already charged)."""
        with self.ctx.read() as s:
            old = _device(s, device_id)
            if old.return_reason is ReturnReason.battery_failure or existing_charge(s, old.id, ChargeKind.replacement):
                return 0
            return fee_for(old.kind, load_figures(s))

    def dsc_eligibility(self, user_id: int) -> DscEligibility:
        """The account's equity against the DSC+ minimum, shown before shipping."""
        with self.ctx.read() as s:
            user = existing_user(s, user_id)
            fig = load_figures(s)
            equity = user.account.equity_cents
            return DscEligibility(user.account.number, equity, fig.dsc_min_equity_cents,
                                  equity >= fig.dsc_min_equity_cents)

    def holders(self, device_id: int) -> list[tuple[int, str]]:
        """(user id, username) of each holder, for choosing who unshares or receives a replacement."""
        with self.ctx.read() as s:
            return [(u.id, u.username) for u in holders_of(s, _device(s, device_id))]


def _label(device: SecurityDevice) -> str:
    return f"{device.kind.label} {device.serial}" if device.serial else device.kind.label


def _enroll_if_waiting(s: Session, actor: Actor, user: User, device: SecurityDevice, now: dt.datetime) -> None:
    """A user waiting for their first device (pending, opted out, or left with none) is enrolled by activating
    one: a change of SLS state, so the security rights are required (the activation is refused otherwise)."""
    if user.sls_state is SlsState.enrolled:
        return
    require_rights(s, user)
    was = user.sls_state
    user.sls_state = SlsState.enrolled
    for r in s.scalars(select(UserRestriction).where(UserRestriction.user_id == user.id,
                                                     UserRestriction.lifted_at.is_(None))):
        r.lifted_at = now
    audit.record(s, at=now, actor=actor.username, action="user.enrolled",
                 summary=f"{user.username} enrolled by activating DSC+ {device.serial} (was {was.label.lower()}); "
                         f"restrictions lifted", account_id=user.account_id, user_id=user.id, device_id=device.id,
                 details={"device_kind": device.kind.name, "shared": False})


def _device(s: Session, device_id: int) -> SecurityDevice:
    device = s.get(SecurityDevice, device_id)
    if device is None:
        raise NotFound(f"Device #{device_id} no longer exists; refresh the view.")
    return device



def _holding(s: Session, user: User, device_id: int) -> DeviceHolding:
    holding = s.scalar(select(DeviceHolding).where(DeviceHolding.user_id == user.id,
                                                   DeviceHolding.device_id == device_id))
    if holding is None:
        raise RuleViolation(f"{user.username} does not hold device #{device_id}; refresh the view.")
    return holding


def _reported(reason: ReturnReason | str) -> ReturnReason:
    """What was reported, from a ReturnReason or its name; anything else is refused, changing nothing."""
    try:
        what = ReturnReason(reason)
    except ValueError:
        what = None
    if what not in REPORT_STATES:
        raise InvalidInput(f"Choose what happened to the device: {', '.join(REPORT_LABELS.values())}.")
    assert what is not None
    return what
