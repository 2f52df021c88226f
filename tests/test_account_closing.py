"""Closing an account: holdings end, each unreturned device is charged once, reserves settle, and a return
on its way stops the closing unless forced with a reason."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from console.models.accounts import AccountService
from console.models.devices import DeviceService
from console.models.entities import Charge, Reserve, SecurityDevice, User
from console.models.enums import ChargeKind, DeviceKind, DeviceState, SlsState
from console.models.errors import InvalidInput, RuleViolation
from console.models.importing import ImportService
from console.models.returns import ReturnsService
from tests.factories import add_device, add_same_person_username
from tests.invariants import assert_invariants
from tests.lifecycle import audit_actions, audit_count, challenge_and_response, enroll_primary, make_rich


@pytest.fixture
def card(ctx, world, back_office):
    """An active DSC+ of jsmit001 (who also has an IB Key), with its 20 USD reserve held on U1234567."""
    make_rich(ctx, world.account_id)
    enroll_primary(ctx, world)
    devices = DeviceService(ctx)
    [card] = devices.receive_stock(back_office, "DSC000000601")
    devices.ship(back_office, card, world.primary_id)
    ch, resp = challenge_and_response(ctx, back_office, card)
    devices.activate_shipped(back_office, card, ch, resp)
    return card


def _state(ctx, device_id):
    with ctx.db.read() as s:
        return s.get(SecurityDevice, device_id).state


def _charges(ctx, device_id):
    with ctx.db.read() as s:
        return [tuple(r) for r in s.execute(select(Charge.kind, Charge.amount_cents, Charge.description)
                                            .where(Charge.device_id == device_id))]


def test_closing_ends_holdings_and_charges_each_unreturned_device_once(ctx, world, card, back_office):
    """The DSC+ in use is charged 20 USD once (its reserve released), the IB Keys revoked, users closed."""
    result = AccountService(ctx).close(back_office, world.account_id)
    assert (result.users_closed, result.charged, result.charged_cents) == (2, 1, 2000)
    [(kind, amount, description)] = _charges(ctx, card)
    assert kind is ChargeKind.not_returned and amount == 2000 and "account closing" in description
    assert _state(ctx, card) is DeviceState.return_pending
    assert _state(ctx, world.secondary_device_id) is DeviceState.revoked
    with ctx.db.read() as s:
        assert {u.sls_state for u in s.scalars(select(User).where(User.account_id == world.account_id))} == {
            SlsState.closed}
        assert s.scalar(select(Reserve.released_at).where(Reserve.device_id == card)) is not None
    assert "account.closed" in audit_actions(ctx)
    assert_invariants(ctx)


def test_closing_releases_the_reserve_of_a_returned_device_and_charges_nothing_for_it(ctx, world, card,
                                                                                        back_office, agent):
    """A device already back costs nothing at closing; the reserve it left is released."""
    DeviceService(ctx).revoke(agent, card)
    ReturnsService(ctx).receive_return(back_office, card)
    AccountService(ctx).close(back_office, world.account_id)
    assert _charges(ctx, card) == []
    assert_invariants(ctx)


def test_closing_does_not_charge_a_device_charged_already(ctx, world, card, back_office, agent):
    """A lost card whose replacement fee was charged is not charged again at closing."""
    devices = DeviceService(ctx)
    devices.receive_stock(back_office, "DSC000000602")
    devices.report(agent, card, "lost")
    devices.order_replacement(agent, card)
    AccountService(ctx).close(back_office, world.account_id)
    assert [k for k, _a, _d in _charges(ctx, card)] == [ChargeKind.replacement]
    assert_invariants(ctx)


def test_closing_refused_while_a_return_is_on_its_way_unless_forced(ctx, world, card, back_office, agent):
    """A return requested and not received stops the closing (nothing changes); forced with a reason it goes
    through, charges the card once and records the reason."""
    DeviceService(ctx).revoke(agent, card)
    before = audit_count(ctx)
    accounts = AccountService(ctx)
    with pytest.raises(RuleViolation, match="DSC000000601"):
        accounts.close(back_office, world.account_id)
    with pytest.raises(InvalidInput, match="reason"):
        accounts.close(back_office, world.account_id, force_reason="  ")
    assert audit_count(ctx) == before
    result = accounts.close(back_office, world.account_id, force_reason="client moved abroad")
    assert result.forced and result.charged == 1
    with pytest.raises(RuleViolation, match="already closed"):
        accounts.close(back_office, world.account_id, force_reason="again")
    assert_invariants(ctx)


def test_a_device_shared_with_another_account_stays_in_service_there(ctx, world, back_office):
    """Jane's IB Key, shared with her username jsmit456 in U2345678, stays active for it there, booked to
    U2345678."""
    key = enroll_primary(ctx, world)
    twin = add_same_person_username(ctx, world.primary_id, "jsmit456", "U2345678", kinds=())
    with ctx.db.write() as s:
        from console.models.entities import DeviceHolding

        s.add(DeviceHolding(user_id=twin["user_id"], device_id=key, preferred=True, since=ctx.clock.now()))
        s.get(User, twin["user_id"]).active_devices = 1
    AccountService(ctx).close(back_office, world.account_id)
    with ctx.db.read() as s:
        device = s.get(SecurityDevice, key)
        assert device.state is DeviceState.active and device.account_id == twin["account_id"]
    assert_invariants(ctx)


def test_closed_account_changes_no_more(ctx, world, back_office, agent, tmp_path):
    """After closing: no opt-in, no temporary access, no import into the account."""
    from console.models.enrollment import EnrollmentService
    from console.models.import_format import COLUMNS
    from console.models.temporary_access import TemporaryAccessService

    AccountService(ctx).close(back_office, world.account_id)
    with pytest.raises(RuleViolation, match="closed"):
        EnrollmentService(ctx).start_ib_key(agent, world.primary_id)
    with pytest.raises(RuleViolation, match="closed"):
        TemporaryAccessService(ctx).issue_temporary_passcode(agent, world.secondary_id, identity_verified=True)
    path = tmp_path / "late.csv"
    path.write_text(",".join(COLUMNS) + "\nU1234567,individual,Jane Smith,jsmit789,Jill Smith,secondary,"
                    "1990-01-01,US,US,passport,P1234567\n", encoding="utf-8")
    plan = ImportService(ctx).preview(back_office, path)
    assert any("was closed" in e.reason for e in plan.errors)


def test_legacy_device_charged_its_fee_at_closing(ctx, world, back_office):
    """A Gold card held on the account is charged the legacy fee, 150.00 USD."""
    enroll_primary(ctx, world)
    with ctx.db.write() as s:
        gold, _ = add_device(s, ctx, s.get(User, world.primary_id), DeviceKind.gold, serial="G-0001",
                             preferred=False)
        gold_id = gold.id
    AccountService(ctx).close(back_office, world.account_id)
    assert [(k, a) for k, a, _d in _charges(ctx, gold_id)] == [(ChargeKind.not_returned, 15000)]
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Reserve).where(Reserve.released_at.is_(None))) == 0


def test_closing_withdraws_the_sharing_requests_it_leaves_undecidable(ctx, world, back_office, agent):
    """Found by the stateful test: a share waiting for compliance outlived the requester's closed account. Closing
    withdraws the requests of its users and those asking to share a device that closing ended, audited."""
    import pyotp

    from console.models.enrollment import EnrollmentService
    from console.models.entities import SharingRequest
    from console.models.enums import SharingRequestState

    twin = add_same_person_username(ctx, world.primary_id, "jsmit456", "U2345678")
    device_id, _, seed = twin["devices"][0]
    enrollment = EnrollmentService(ctx)
    enrollment.start_shared(agent, world.primary_id, "jsmit456")
    request_id = enrollment.confirm(agent, world.primary_id, device_id, pyotp.TOTP(seed).at(ctx.clock.now())).request_id
    AccountService(ctx).close(back_office, world.account_id)
    with ctx.db.read() as s:
        request = s.get(SharingRequest, request_id)
        assert (request.state, request.decided_by, request.reason) == (
            SharingRequestState.withdrawn, "boff01", "account U1234567 closed")
    assert "sharing.withdrawn" in audit_actions(ctx, device_id)
    assert_invariants(ctx)

    # The other way round: the owner's account closes and its IB Key ends, so a request for it cannot be decided.
    john_twin = add_same_person_username(ctx, world.org_holder_id, "bbake456", "U3456789")
    enrollment.start_shared(agent, world.org_holder_id, "bbake456")
    device_id, _, seed = john_twin["devices"][0]
    ctx.clock.advance(seconds=31)
    request_id = enrollment.confirm(agent, world.org_holder_id, device_id,
                                    pyotp.TOTP(seed).at(ctx.clock.now())).request_id
    AccountService(ctx).close(back_office, john_twin["account_id"])
    with ctx.db.read() as s:
        assert s.get(SharingRequest, request_id).state is SharingRequestState.withdrawn
        assert s.get(User, world.org_holder_id).sls_state is SlsState.opted_out  # as on a rejection
    assert_invariants(ctx)
