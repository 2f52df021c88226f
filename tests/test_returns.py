"""Returns: due dates, receiving a return releases the reserve, overdue list, the overdue charge run."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from console.models.context import SYSTEM_ACTOR
from console.models.devices import DeviceService
from console.models.entities import Charge, Reserve, SecurityDevice
from console.models.enums import ChargeKind, ChargeStatus, DeviceState
from console.models.errors import PermissionDenied, RuleViolation
from console.models.returns import ReturnsService
from tests.lifecycle import active_card, audit_actions, enroll_primary


@pytest.fixture
def devices(ctx):
    return DeviceService(ctx)


@pytest.fixture
def returns(ctx):
    return ReturnsService(ctx)


@pytest.fixture
def card(ctx, world, devices, back_office):
    """An active DSC+ held by jsmit001 (who also has an IB Key and holds the account's security rights)."""
    enroll_primary(ctx, world)  # jsmit001 holds the rights
    return active_card(ctx, back_office, world.primary_id, world.account_id, "DSC000000301")


@pytest.fixture
def due_back(ctx, devices, card, agent):
    """The card revoked as no longer needed: due back in 30 days."""
    devices.revoke(agent, card)
    return card


def _reserve_released(ctx, device_id):
    with ctx.db.read() as s:
        return s.scalar(select(Reserve.released_at).where(Reserve.device_id == device_id))


def _charges(ctx, device_id):
    with ctx.db.read() as s:
        return list(s.execute(select(Charge.kind, Charge.amount_cents, Charge.status)
                              .where(Charge.device_id == device_id)).all())


def test_device_to_be_returned_gets_a_due_date(ctx, due_back, returns):
    """A device to be returned is listed as pending with its due date (30 days)."""
    [row] = returns.pending()
    assert row.device_id == due_back and row.serial == "DSC000000301"
    assert row.return_due_at == ctx.clock.now() + dt.timedelta(days=30)
    assert row.holders == ("jsmit001",) and row.days_overdue == 0
    assert returns.overdue() == []


def test_receiving_a_return_closes_it_and_releases_the_reserve(ctx, due_back, returns, back_office):
    """Receipt sets the device returned, releases its reserve, and is audited."""
    returns.receive_return(back_office, due_back)
    with ctx.db.read() as s:
        d = s.get(SecurityDevice, due_back)
        assert d.state is DeviceState.returned and d.returned_at == ctx.clock.now()
    assert _reserve_released(ctx, due_back) == ctx.clock.now()
    assert returns.pending() == []
    assert "device.returned" in audit_actions(ctx, due_back)


def test_receiving_a_device_not_expected_is_refused(ctx, card, returns, back_office):
    """An active card is not expected back; nothing changes."""
    with pytest.raises(RuleViolation, match="not expected back"):
        returns.receive_return(back_office, card)
    assert _reserve_released(ctx, card) is None


def test_agent_may_not_receive_returns(ctx, due_back, returns, agent):
    """Receiving returns is a back-office permission."""
    with pytest.raises(PermissionDenied):
        returns.receive_return(agent, due_back)


def test_overdue_devices_are_listed_after_their_due_date(ctx, due_back, returns):
    """A device still out after its due date is listed as overdue, with the days late."""
    ctx.clock.advance(days=30)
    assert returns.overdue() == []
    ctx.clock.advance(days=3, seconds=1)
    [row] = returns.overdue()
    assert row.device_id == due_back and row.days_overdue == 3 and not row.charged


def test_overdue_run_charges_once_however_often_it_runs(ctx, due_back, returns, back_office):
    """The run charges the fee for a device not returned; repeating it never charges twice."""
    ctx.clock.advance(days=31)
    first = returns.charge_overdue(back_office)
    assert (first.charged, first.amount_cents) == (1, 2000)
    again = returns.charge_overdue(SYSTEM_ACTOR)
    assert (again.charged, again.already_charged) == (0, 1)
    assert _charges(ctx, due_back) == [(ChargeKind.not_returned, 2000, ChargeStatus.pending)]
    assert _reserve_released(ctx, due_back) is not None
    assert audit_actions(ctx).count("returns.overdue_run") == 1
    assert returns.overdue()[0].charged


def test_overdue_run_before_due_date_charges_nothing(ctx, due_back, returns, back_office):
    """Nothing is charged while the device is still within its return period."""
    assert returns.charge_overdue(back_office).charged == 0
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Charge)) == 0


def test_overdue_run_does_not_charge_a_returned_device(ctx, due_back, returns, back_office):
    """A device received back in time is never charged."""
    returns.receive_return(back_office, due_back)
    ctx.clock.advance(days=60)
    assert returns.charge_overdue(back_office).charged == 0


def test_battery_failure_replacement_charged_only_if_not_returned(ctx, devices, card, returns, agent, back_office):
    """Free while the failed card comes back; charged once by the run if it does not."""
    devices.receive_stock(back_office, "DSC000000302")
    devices.report(agent, card, "battery_failure")
    devices.order_replacement(agent, card)
    assert _charges(ctx, card) == []
    ctx.clock.advance(days=31)
    returns.charge_overdue(back_office)
    returns.charge_overdue(back_office)
    assert _charges(ctx, card) == [(ChargeKind.not_returned, 2000, ChargeStatus.pending)]


def test_damaged_card_already_charged_is_not_charged_again_when_late(ctx, devices, card, returns, agent,
                                                                     back_office):
    """One fee per device: a damaged card charged on replacement is not charged again for being late."""
    devices.receive_stock(back_office, "DSC000000302")
    devices.report(agent, card, "damaged")
    devices.order_replacement(agent, card)
    ctx.clock.advance(days=31)
    result = returns.charge_overdue(back_office)
    assert (result.charged, result.already_charged) == (0, 1)
    assert _charges(ctx, card) == [(ChargeKind.replacement, 2000, ChargeStatus.pending)]


def test_overdue_run_needs_its_permission(ctx, returns, agent):
    """Only staff allowed to run it (back office, administrators, the start-up run) may charge."""
    with pytest.raises(PermissionDenied):
        returns.charge_overdue(agent)


def test_devices_view_query_lists_overdue_devices(ctx, devices, due_back):
    """The devices list's overdue filter shows only devices past their return date."""
    from console.models.devices import DeviceQuery

    assert devices.count(DeviceQuery(overdue=True)) == 0
    ctx.clock.advance(days=31)
    assert [r.id for r in devices.window(DeviceQuery(overdue=True), 0, 10)] == [due_back]


def test_start_up_run_charges_overdue_devices_once(ctx, due_back):
    """The console's start-up tasks charge an overdue device; starting again charges nothing more."""
    from console.app import run_startup_tasks

    ctx.clock.advance(days=31)
    assert "1 overdue device(s) charged" in run_startup_tasks(ctx)
    assert "0 overdue device(s) charged, 1 already charged" in run_startup_tasks(ctx)
    assert len(_charges(ctx, due_back)) == 1
