"""Invariants that hold after any sequence of operations, good or bad input alike."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from console.models import audit
from console.models.entities import (
    Account,
    Charge,
    DeviceHolding,
    Reserve,
    SecurityDevice,
    SharingRequest,
    User,
    UserRestriction,
)
from console.models.enums import OPT_OUT_RESTRICTIONS, DeviceKind, DeviceState, SharingRequestState, SlsState
from console.models.limits import limit_for, user_limits
from console.models.returns import fee_for
from console.models.settings import load_figures

# A device in one of these states is out with a client (or on its way to one) and must have a holder.
OUT_STATES = frozenset({DeviceState.shipped, DeviceState.pending, DeviceState.active, DeviceState.lost,
                        DeviceState.stolen, DeviceState.damaged, DeviceState.return_pending})
# Hardware not back at the firm: a reserve equal to its fee is held until it returns or is charged.
UNRETURNED_STATES = OUT_STATES - {DeviceState.pending}


def assert_invariants(ctx) -> None:
    """Every rule of "Rules that must always hold" that a database state can show, checked at once."""
    with ctx.db.read() as s:
        result = audit.verify(s)
        assert result.ok, result.problem
        now = ctx.clock.now()
        fig = load_figures(s)
        users = {u.id: u for u in s.scalars(select(User))}
        holdings = defaultdict(list)
        holders = defaultdict(list)
        for h, d in s.execute(select(DeviceHolding, SecurityDevice).join(SecurityDevice)):
            holdings[h.user_id].append(d)
            holders[d.id].append(h.user_id)
        restricted = defaultdict(set)
        for r in s.scalars(select(UserRestriction).where(UserRestriction.lifted_at.is_(None))):
            restricted[r.user_id].add(r.restriction)

        for u in users.values():
            active = [d for d in holdings[u.id] if d.state is DeviceState.active]
            assert u.active_devices == len(active), (
                f"{u.username}: active_devices says {u.active_devices}, holdings say {len(active)}")
            in_force = [d for d in active if d.expires_at is None or d.expires_at > now]
            if u.sls_state is SlsState.enrolled:
                assert in_force, f"{u.username} enrolled without an active device or temporary access in force"
                assert not restricted[u.id], f"{u.username} enrolled but restricted: {restricted[u.id]}"
            if u.sls_state is SlsState.no_device:
                assert not active, f"{u.username} is 'no active device' but has {active[0].kind.label} active"
                assert not restricted[u.id], f"{u.username} has no device but carries opt-out restrictions"
            if u.sls_state is SlsState.opted_out:
                missing = set(OPT_OUT_RESTRICTIONS) - restricted[u.id]
                assert not missing, f"{u.username} opted out without its restrictions: {missing}"
                assert not active, f"{u.username} opted out but still holds an active {active[0].kind.label}"
            if u.sls_state is SlsState.closed:
                assert u.account.closed_at is not None, f"{u.username} closed but its account is open"
                live = [d for d in holdings[u.id] if d.state in (DeviceState.active, DeviceState.pending,
                                                                 DeviceState.shipped)]
                assert not live, f"{u.username}: account closed but {live[0].kind.label} still in use"
            if u.account.closed_at is not None:
                assert u.sls_state is SlsState.closed, f"{u.username}: account closed, user {u.sls_state.name}"
            if u.sls_state is SlsState.pending:  # from opted out: all lifted only when the opt-in completes;
                # from "no active device": none were in force
                assert restricted[u.id] in (set(), set(OPT_OUT_RESTRICTIONS)), (
                    f"{u.username} pending with some of its restrictions: {restricted[u.id]}")

            # SMS serves only until another device is active, and its holder's limits are the SMS limits.
            sms = [d for d in active if d.kind is DeviceKind.sms]
            if sms:
                permanent = [d for d in active if not d.kind.is_temporary]
                assert not permanent, f"{u.username} keeps SMS beside an active {permanent[0].kind.label}"
                assert len(sms) == 1, f"{u.username} receives codes by SMS on {len(sms)} numbers"
                if u.sls_state is SlsState.enrolled and not sms[0].locked:
                    shown = {d.device_id: d.limit for d in user_limits(s, u, fig, now).per_device}
                    assert shown.get(sms[0].id) == limit_for(DeviceKind.sms, fig), (
                        f"{u.username}: SMS limits shown as {shown.get(sms[0].id)}")

        devices = list(s.scalars(select(SecurityDevice)))
        for d in devices:
            if d.state in OUT_STATES:
                assert holders[d.id], f"{d.kind.label} #{d.id} ({d.state.name}) has no holder"
            if d.kind is DeviceKind.sms:
                assert len(holders[d.id]) <= 1 and d.phone, f"SMS #{d.id}: holders {holders[d.id]}, phone {d.phone!r}"
            if d.kind is DeviceKind.code_card and d.state is DeviceState.shipped:
                assert d.activation_due_at is not None, f"printed card {d.serial} mailed without an activation date"

        # A sharing request that waits: its requester is opting in (pending, restrictions in force) or keeps its
        # own devices (enrolled, or no active device), does not hold the device yet, and waits on one request.
        waiting = defaultdict(list)
        for r in s.scalars(select(SharingRequest).where(SharingRequest.state == SharingRequestState.pending)):
            u = users[r.user_id]
            waiting[u.id].append(r.id)
            assert u.sls_state in (SlsState.pending, SlsState.enrolled, SlsState.no_device), (
                f"sharing request #{r.id} waits for {u.username}, who is {u.sls_state.name}")
            assert u.id not in holders[r.device_id], f"{u.username} already holds the device of request #{r.id}"
        doubled_requests = {users[k].username: v for k, v in waiting.items() if len(v) > 1}
        assert not doubled_requests, f"more than one sharing request waits: {doubled_requests}"

        # A closed account holds nothing, and each of its unreturned cards is charged exactly once.
        charges_of = defaultdict(list)
        for c in s.scalars(select(Charge).where(Charge.device_id.is_not(None))):
            charges_of[c.device_id].append(c.kind.name)
        closed = {a.id for a in s.scalars(select(Account).where(Account.closed_at.is_not(None)))}
        for d in devices:
            if d.account_id in closed and d.kind.is_hardware and d.state in UNRETURNED_STATES:
                assert len(charges_of[d.id]) == 1, (
                    f"{d.kind.label} {d.serial} of a closed account, not returned: charges {charges_of[d.id]}")
            if d.account_id in closed:
                assert d.state not in (DeviceState.active, DeviceState.pending, DeviceState.shipped), (
                    f"{d.kind.label} {d.serial} of a closed account still {d.state.name}")

        # No account gets two temporary passcodes in a row (an Online Security Code Card in between resets).
        temporary = defaultdict(list)
        for d in sorted((d for d in devices if d.kind.is_temporary), key=lambda d: (d.issued_at, d.id)):
            temporary[d.account_id].append(d.kind)
        for account_id, kinds in temporary.items():
            for first, second in zip(kinds, kinds[1:], strict=False):
                assert not (first is second is DeviceKind.temporary_passcode), (
                    f"account #{account_id} got two temporary passcodes in a row")

        # No device charged twice for the same reason.
        doubled = s.execute(select(Charge.device_id, Charge.kind, func.count()).where(Charge.device_id.is_not(None))
                            .group_by(Charge.device_id, Charge.kind).having(func.count() > 1)).all()
        assert not doubled, f"charged twice for the same reason: {doubled}"

        # The reserves held on an account equal the fees of its unreturned, uncharged hardware.
        charged = set(s.scalars(select(Charge.device_id).where(Charge.device_id.is_not(None))))
        held = defaultdict(int)
        for r in s.scalars(select(Reserve).where(Reserve.released_at.is_(None))):
            held[r.account_id] += r.amount_cents
        owed = defaultdict(int)
        for d in devices:
            if d.kind.is_hardware and d.state in UNRETURNED_STATES and d.id not in charged:
                owed[d.account_id] += fee_for(d.kind, fig)
        for account_id in set(held) | set(owed):
            number = s.get(Account, account_id).number
            assert held[account_id] == owed[account_id], (
                f"{number}: reserves held {held[account_id]} cents, unreturned devices' fees {owed[account_id]}")
