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
    User,
    UserRestriction,
)
from console.models.enums import OPT_OUT_RESTRICTIONS, DeviceKind, DeviceState, SlsState
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

        devices = list(s.scalars(select(SecurityDevice)))
        for d in devices:
            if d.state in OUT_STATES:
                assert holders[d.id], f"{d.kind.label} #{d.id} ({d.state.name}) has no holder"

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
