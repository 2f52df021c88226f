"""Device lifecycle rules: stock, shipping, activation, several devices per user, unsharing, loss,
replacement and revocation."""

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from console.models.devices import DeviceQuery, DeviceService, parse_serials
from console.models.entities import Charge, DeviceHolding, Reserve, SecurityDevice, User, UserRestriction
from console.models.enums import ChargeKind, ChargeStatus, DeviceKind, DeviceState, ReturnReason, SlsState
from console.models.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    RightsError,
    RuleViolation,
    VerificationFailed,
)
from console.models.settings import Figures
from tests import lifecycle
from tests.factories import add_same_person_username
from tests.lifecycle import audit_actions, audit_count, challenge_and_response, enroll_primary, make_rich, user


@pytest.fixture
def svc(ctx):
    return DeviceService(ctx)


@pytest.fixture
def jane_key(ctx, world):
    """jsmit001 (primary, holds the rights) enrolled with an IB Key; returns the key's id."""
    return enroll_primary(ctx, world)


@pytest.fixture
def shipped(ctx, world, svc, back_office, jane_key):
    """A DSC+ received and shipped to jsmit001 (who is enrolled with an IB Key); returns its id."""
    return lifecycle.shipped_card(ctx, back_office, world.primary_id, world.account_id, "DSC000000101")


@pytest.fixture
def active_card(ctx, svc, shipped, back_office):
    ch, resp = challenge_and_response(ctx, back_office, shipped)
    svc.activate_shipped(back_office, shipped, ch, resp)
    return shipped


@pytest.fixture
def jane(ctx, world, svc, back_office):
    """jsmit001 (primary, holds the rights) enrolled with an IB Key and an active DSC+: (ib_key_id, card_id)."""
    ib_key_id = enroll_primary(ctx, world)
    return ib_key_id, lifecycle.active_card(ctx, back_office, world.primary_id, world.account_id, "DSC000000111")


def _device(ctx, device_id) -> SecurityDevice:
    with ctx.db.read() as s:
        d = s.get(SecurityDevice, device_id, options=[undefer(SecurityDevice.sealed_secret),
                                                      undefer(SecurityDevice.secret_hash)])
        s.expunge(d)
        return d


def _count(ctx, entity) -> int:
    with ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(entity))


# --- stock -------------------------------------------------------------------------------------------
def test_receive_stock_one_serial_and_a_batch(ctx, svc, back_office):
    """One serial or a batch (lines, commas, ranges) is received into stock, each audited, seeds sealed."""
    [one] = svc.receive_stock(back_office, "dsc000000001")
    batch = svc.receive_stock(back_office, "DSC000000010, DSC000000011\nDSC000000020-DSC000000022")
    assert len(batch) == 5
    d = _device(ctx, one)
    assert (d.serial, d.state, d.kind) == ("DSC000000001", DeviceState.in_stock, DeviceKind.dsc_plus)
    assert d.sealed_secret and d.received_at == ctx.clock.now()
    assert svc.in_stock_count() == 6
    assert audit_actions(ctx).count("device.received_into_stock") == 6


@pytest.mark.parametrize("batch, named", [("DSC000000001 DSC00000002", "DSC00000002"),
                                          ("DSC000000001 XYZ000000003", "XYZ000000003"),
                                          ("DSC000000001 DSC000000001", "DSC000000001 appears twice"),
                                          ("DSC000000009-DSC000000001", "range")])
def test_receive_stock_refuses_bad_batch_naming_the_serial_and_receives_nothing(ctx, svc, back_office, batch, named):
    """A malformed or repeated serial refuses the whole batch, naming it; nothing is received."""
    before = audit_count(ctx)
    with pytest.raises(InvalidInput, match=named):
        svc.receive_stock(back_office, batch)
    assert _count(ctx, SecurityDevice) == 0 and audit_count(ctx) == before


def test_receive_stock_refuses_serial_already_on_record(ctx, svc, back_office):
    """A serial received before refuses the batch it appears in; the other cards are not received either."""
    svc.receive_stock(back_office, "DSC000000005")
    with pytest.raises(InvalidInput, match="DSC000000005 is already on record"):
        svc.receive_stock(back_office, ["DSC000000004", "DSC000000005"])
    assert svc.in_stock_count() == 1


def test_receive_stock_needs_stock_permission(ctx, svc, agent):
    """A help-desk agent may not receive stock."""
    with pytest.raises(PermissionDenied):
        svc.receive_stock(agent, "DSC000000001")


def test_parse_serials_refuses_empty_input():
    """Blank input asks for a serial."""
    with pytest.raises(InvalidInput, match="at least one"):
        parse_serials("  \n ")


# --- shipping and activation -------------------------------------------------------------------------
def test_ship_starts_activation_window_and_holds_reserve(ctx, world, shipped):
    """Shipping books the card to the user's account, due for activation in 14 days, with a 20 USD reserve."""
    d = _device(ctx, shipped)
    assert d.state is DeviceState.shipped and d.account_id == world.account_id
    assert d.activation_due_at == ctx.clock.now() + dt.timedelta(days=14)
    with ctx.db.read() as s:
        reserve = s.execute(select(Reserve.amount_cents, Reserve.released_at)
                            .where(Reserve.device_id == shipped)).one()
        holders = list(s.scalars(select(DeviceHolding.user_id).where(DeviceHolding.device_id == shipped)))
    assert tuple(reserve) == (2000, None)
    assert holders == [world.primary_id]
    assert "device.shipped" in audit_actions(ctx, shipped)


def test_ship_refused_for_card_not_in_stock(ctx, world, svc, shipped, back_office):
    """A card already shipped cannot be shipped again."""
    with pytest.raises(RuleViolation, match="not in stock"):
        svc.ship(back_office, shipped, world.primary_id)


def test_ship_refused_below_dsc_equity_threshold(ctx, world, svc, back_office):
    """DSC+ is offered only from the configured account equity; nothing changes when refused."""
    [device_id] = svc.receive_stock(back_office, "DSC000000001")
    with pytest.raises(RuleViolation, match="equity of at least"):
        svc.ship(back_office, device_id, world.primary_id)
    assert _device(ctx, device_id).state is DeviceState.in_stock
    assert _count(ctx, Reserve) == 0


def test_activation_keeps_earlier_devices_active(ctx, world, active_card, jane_key):
    """M2FS: activating the DSC+ leaves the IB Key active; the user has two active devices."""
    assert _device(ctx, active_card).state is DeviceState.active
    assert _device(ctx, jane_key).state is DeviceState.active
    assert user(ctx, world.primary_id).active_devices == 2
    with ctx.db.read() as s:
        preferred = s.scalar(select(DeviceHolding.device_id).where(DeviceHolding.user_id == world.primary_id,
                                                                   DeviceHolding.preferred.is_(True)))
    assert preferred == jane_key  # the earlier preferred device stays preferred
    assert "device.activated" in audit_actions(ctx, active_card)


def test_activation_refused_with_wrong_response(ctx, svc, shipped, back_office):
    """A wrong response leaves the card shipped (and counts a failure)."""
    ch, resp = challenge_and_response(ctx, back_office, shipped)
    wrong = f"{(int(resp) + 1) % 10**8:08d}"
    with pytest.raises(VerificationFailed):
        svc.activate_shipped(back_office, shipped, ch, wrong)
    d = _device(ctx, shipped)
    assert d.state is DeviceState.shipped and d.failed_attempts == 1


def test_activation_enrolls_an_opted_out_user(ctx, world, svc, back_office):
    """Activating a DSC+ shipped to an opted-out user enrolls them and lifts their restrictions."""
    make_rich(ctx, world.account_id)
    [device_id] = svc.receive_stock(back_office, "DSC000000001")
    svc.ship(back_office, device_id, world.primary_id)
    ch, resp = challenge_and_response(ctx, back_office, device_id)
    svc.activate_shipped(back_office, device_id, ch, resp)
    u = user(ctx, world.primary_id)
    assert u.sls_state is SlsState.enrolled and u.active_devices == 1
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(UserRestriction).where(
            UserRestriction.user_id == world.primary_id, UserRestriction.lifted_at.is_(None))) == 0
    assert "user.enrolled" in audit_actions(ctx, device_id)


def test_activation_refused_for_card_not_shipped(ctx, svc, back_office):
    """Only a shipped card is activated."""
    [device_id] = svc.receive_stock(back_office, "DSC000000001")
    with pytest.raises(RuleViolation, match="only a shipped DSC"):
        svc.activate_shipped(back_office, device_id, 1, "12345678")


# --- preferred device --------------------------------------------------------------------------------
def test_set_preferred_moves_the_single_preferred_flag(ctx, world, svc, jane, agent):
    """One preferred device per user: choosing the DSC+ unflags the IB Key."""
    ib_key, card = jane
    svc.set_preferred(agent, world.primary_id, card)
    with ctx.db.read() as s:
        flags = dict(s.execute(select(DeviceHolding.device_id, DeviceHolding.preferred)
                               .where(DeviceHolding.user_id == world.primary_id)).all())
    assert flags == {card: True, ib_key: False}
    assert "device.preferred" in audit_actions(ctx, card)


def test_set_preferred_refused_for_device_not_active(ctx, world, svc, jane, back_office, agent):
    """A card not yet activated cannot be the preferred device."""
    [card] = svc.receive_stock(back_office, "DSC000000112")
    svc.ship(back_office, card, world.primary_id)
    with pytest.raises(RuleViolation, match="Only an active device"):
        svc.set_preferred(agent, world.primary_id, card)


def test_set_preferred_refused_without_security_rights(ctx, world, svc, active_card, agent):
    """jsmit123 does not hold the rights of U1234567: the notice names Jane Smith; nothing changes."""
    before = audit_count(ctx)
    with pytest.raises(RightsError, match=r"Ask Jane Smith \(jsmit001\)"):
        svc.set_preferred(agent, world.secondary_id, active_card)
    assert audit_count(ctx) == before


# --- unsharing ---------------------------------------------------------------------------------------
def _share_directly(ctx, device_id, user_id):
    with ctx.db.write() as s:
        s.add(DeviceHolding(user_id=user_id, device_id=device_id, preferred=False, since=ctx.clock.now()))
        u = s.get(User, user_id)
        u.active_devices += 1


def test_unshare_refused_for_the_last_holder(ctx, world, svc, jane, agent):
    """A device always keeps at least one holder."""
    _ib_key, card = jane
    with pytest.raises(RuleViolation, match="at least one holder"):
        svc.unshare(agent, card, world.primary_id)
    assert user(ctx, world.primary_id).active_devices == 2


def test_unshare_refused_when_it_is_the_users_last_active_device(ctx, world, svc, agent):
    """An enrolled user who only shares someone else's device cannot lose it without temporary access."""
    third = add_same_person_username(ctx, world.secondary_id, "jsmit456", "U3456789", kinds=())["user_id"]
    _share_directly(ctx, world.secondary_device_id, third)
    with pytest.raises(RuleViolation, match="jsmit456 without an active security device"):
        svc.unshare(agent, world.secondary_device_id, third)
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(DeviceHolding)
                        .where(DeviceHolding.device_id == world.secondary_device_id)) == 2


def test_unshare_allowed_when_the_user_keeps_another_device(ctx, world, svc, active_card, agent):
    """Unsharing succeeds when the user keeps an active device and the device keeps a holder; audited."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit456", "U3456789")["user_id"]
    _share_directly(ctx, active_card, twin)
    svc.unshare(agent, active_card, twin)
    assert svc.holders(active_card) == [(world.primary_id, "jsmit001")]
    assert user(ctx, twin).active_devices == 1
    assert "device.unshared" in audit_actions(ctx, active_card)


# --- loss and the last active device -----------------------------------------------------------------
def test_reporting_the_last_active_device_lost_is_refused_without_temporary_access(ctx, world, svc, agent):
    """An enrolled user never loses their last active device unless given temporary access; nothing changes."""
    before = audit_count(ctx)
    with pytest.raises(RuleViolation, match="jsmit123 without an active security device"):
        svc.report(agent, world.secondary_device_id, "lost")
    assert _device(ctx, world.secondary_device_id).state is DeviceState.active
    assert audit_count(ctx) == before


def test_reporting_the_last_device_lost_with_a_temporary_passcode(ctx, world, svc, agent):
    """Reporting a loss with a temporary passcode keeps the user enrolled, with the passcode as access."""
    result = svc.report(agent, world.secondary_device_id, "lost", user_id=world.secondary_id,
                        issue_temporary_passcode=True, identity_verified=True)
    assert result.state is DeviceState.lost and len(result.temporary_passcode.passcode) == 8
    u = user(ctx, world.secondary_id)
    assert u.sls_state is SlsState.enrolled and u.active_devices == 1
    actions = audit_actions(ctx)
    assert "device.reported_lost" in actions and "device.temporary_passcode_issued" in actions


def test_reporting_last_device_stays_refused_when_passcode_would_be_consecutive(ctx, world, svc, agent):
    """If the passcode is refused (two in a row), the loss report is refused too: all or nothing."""
    from console.models.temporary_access import TemporaryAccessService

    TemporaryAccessService(ctx).issue_temporary_passcode(agent, world.secondary_id, identity_verified=True)
    with ctx.db.write() as s:  # that passcode has expired since
        tp = s.scalar(select(SecurityDevice).where(SecurityDevice.kind == DeviceKind.temporary_passcode))
        tp.state = DeviceState.expired
        s.get(User, world.secondary_id).active_devices = 1
    with pytest.raises(RuleViolation, match="never issued in a row"):
        svc.report(agent, world.secondary_device_id, "lost", user_id=world.secondary_id,
                   issue_temporary_passcode=True, identity_verified=True)
    assert _device(ctx, world.secondary_device_id).state is DeviceState.active


def test_reporting_one_of_two_devices_moves_the_preferred_flag(ctx, world, svc, active_card, jane_key, agent):
    """With another active device, the loss is recorded and the remaining device becomes preferred."""
    svc.report(agent, jane_key, "stolen", note="phone stolen on the train")
    assert _device(ctx, jane_key).state is DeviceState.stolen
    assert user(ctx, world.primary_id).active_devices == 1
    with ctx.db.read() as s:
        assert s.scalar(select(DeviceHolding.preferred).where(DeviceHolding.device_id == active_card))


def test_report_refused_for_device_already_out_of_service(ctx, world, svc, active_card, agent):
    """A device already reported cannot be reported again."""
    svc.report(agent, active_card, "lost")
    with pytest.raises(RuleViolation, match="lost already"):
        svc.report(agent, active_card, "stolen")


def test_battery_failure_reported_only_for_hardware(ctx, world, svc, active_card, agent):
    """An IB Key has no battery to fail."""
    with pytest.raises(RuleViolation, match="no battery"):
        svc.report(agent, world.secondary_device_id, "battery_failure")


# --- replacement -------------------------------------------------------------------------------------
def _stock(svc, back_office, serial="DSC000000900"):
    return svc.receive_stock(back_office, serial)[0]


def test_lost_card_replacement_charges_the_fee_and_ships_from_stock(ctx, world, svc, active_card, agent,
                                                                    back_office):
    """A lost DSC+ is replaced from stock; the fee is charged to the account and the old reserve released."""
    new_id = _stock(svc, back_office)
    svc.report(agent, active_card, "lost")
    result = svc.order_replacement(agent, active_card)
    assert result.new_device_id == new_id and result.charged_cents == 2000
    new = _device(ctx, new_id)
    assert new.state is DeviceState.shipped and new.replaces_id == active_card
    with ctx.db.read() as s:
        charge = s.execute(select(Charge.kind, Charge.status, Charge.amount_cents)
                           .where(Charge.device_id == active_card)).one()
        reserves = {r.device_id: r.released_at for r in s.scalars(select(Reserve))}
    assert tuple(charge) == (ChargeKind.replacement, ChargeStatus.pending, 2000)
    assert reserves[active_card] is not None and reserves[new_id] is None
    assert "device.replacement_ordered" in audit_actions(ctx, active_card)


def test_battery_failure_replaced_free_and_due_back(ctx, world, svc, active_card, agent, back_office):
    """A card whose battery failed is replaced without a fee; the old one is due back by the return date."""
    _stock(svc, back_office)
    svc.report(agent, active_card, "battery_failure")
    result = svc.order_replacement(agent, active_card)
    assert result.charged_cents == 0
    assert _count(ctx, Charge) == 0
    old = _device(ctx, active_card)
    assert old.state is DeviceState.return_pending and old.return_reason is ReturnReason.battery_failure
    assert old.return_due_at == ctx.clock.now() + dt.timedelta(days=30)


def test_damaged_card_charged_and_due_back(ctx, world, svc, active_card, agent, back_office):
    """A damaged card is charged the fee and still expected back."""
    _stock(svc, back_office)
    svc.report(agent, active_card, "damaged")
    assert svc.order_replacement(agent, active_card).charged_cents == 2000
    assert _device(ctx, active_card).state is DeviceState.return_pending


def test_replacement_refused_twice_and_without_stock(ctx, world, svc, active_card, agent, back_office):
    """No stock: refused, nothing changes; a card already replaced is not replaced again."""
    svc.report(agent, active_card, "lost")
    with pytest.raises(RuleViolation, match="no DSC\\+ in stock"):
        svc.order_replacement(agent, active_card)
    assert _count(ctx, Charge) == 0
    _stock(svc, back_office, "DSC000000901")
    _stock(svc, back_office, "DSC000000902")
    svc.order_replacement(agent, active_card)
    with pytest.raises(RuleViolation, match="already replaced by DSC000000901"):
        svc.order_replacement(agent, active_card)
    assert _count(ctx, Charge) == 1


def test_replacement_ships_exactly_the_serial_named_not_the_oldest(ctx, world, svc, active_card, agent, back_office):
    """Naming a card from stock ships that card (the oldest stays in stock) and the result names it."""
    oldest = _stock(svc, back_office, "DSC000000901")
    named = _stock(svc, back_office, "DSC000000902")
    svc.report(agent, active_card, "lost")
    assert svc.oldest_in_stock() == "DSC000000901"
    assert svc.replacement_fee(active_card) == 2000
    result = svc.order_replacement(agent, active_card, serial=" dsc000000902 ")
    assert (result.new_device_id, result.new_serial) == (named, "DSC000000902")
    assert _device(ctx, named).state is DeviceState.shipped
    assert _device(ctx, oldest).state is DeviceState.in_stock
    assert svc.replacement_fee(active_card) == 0  # charged once


def test_replacement_naming_a_card_not_in_stock_is_refused_and_changes_nothing(ctx, world, svc, active_card, agent,
                                                                               back_office):
    """A serial that is unknown or not in stock is refused with the serial named; nothing ships or is charged."""
    _stock(svc, back_office, "DSC000000901")
    svc.report(agent, active_card, "lost")
    with pytest.raises(NotFound, match="DSC000000999"):
        svc.order_replacement(agent, active_card, serial="DSC000000999")
    with pytest.raises(RuleViolation, match="not in stock"):
        svc.order_replacement(agent, active_card, serial=_device(ctx, active_card).serial)
    assert _count(ctx, Charge) == 0
    assert svc.oldest_in_stock() == "DSC000000901"


def test_dsc_eligibility_compares_equity_with_the_minimum(ctx, world, svc):
    """The ship dialog's preview: the account's equity against the configured DSC+ minimum."""
    minimum = Figures().dsc_min_equity_cents
    for equity, eligible in ((minimum - 1, False), (minimum, True)):
        with ctx.db.write() as s:
            s.get(User, world.primary_id).account.equity_cents = equity
        e = svc.dsc_eligibility(world.primary_id)
        assert (e.account_number, e.equity_cents, e.minimum_cents, e.eligible) == ("U1234567", equity, minimum,
                                                                                   eligible)


def test_replacement_refused_for_card_not_reported(ctx, svc, active_card, agent, back_office):
    """A card in service must be reported before it is replaced."""
    _stock(svc, back_office)
    with pytest.raises(RuleViolation, match="report it lost"):
        svc.order_replacement(agent, active_card)


# --- revocation --------------------------------------------------------------------------------------
def test_revoke_refused_for_last_active_device(ctx, world, svc, agent, jane_key):
    """Revoking an enrolled user's only device is refused."""
    with pytest.raises(RuleViolation, match="without an active security device"):
        svc.revoke(agent, jane_key)
    assert _device(ctx, jane_key).state is DeviceState.active


def test_revoked_dsc_plus_is_due_back(ctx, world, svc, active_card, agent):
    """A DSC+ no longer needed is revoked into a pending return with a due date."""
    row = svc.revoke(agent, active_card, "client prefers the app")
    assert row.state is DeviceState.return_pending and row.return_reason is ReturnReason.no_longer_needed
    assert user(ctx, world.primary_id).active_devices == 1


# --- the devices view's query ------------------------------------------------------------------------
def test_window_filters_by_kind_and_state_and_lists_holders(ctx, world, svc, shipped, back_office):
    """The device list filters in SQL and shows each device's holders and dates."""
    svc.receive_stock(back_office, "DSC000000200-DSC000000204")
    in_stock = svc.window(DeviceQuery(kind=DeviceKind.dsc_plus, state=DeviceState.in_stock), 0, 50)
    assert [r.serial for r in in_stock] == [f"DSC00000020{i}" for i in range(4, -1, -1)]
    assert svc.count(DeviceQuery(kind=DeviceKind.dsc_plus)) == 6
    [row] = svc.window(DeviceQuery(state=DeviceState.shipped), 0, 50)
    assert row.holders == ("jsmit001",) and row.account_number == "U1234567"
    assert row.due_at == row.activation_due_at
    assert [r.serial for r in svc.window(DeviceQuery(serial_prefix="dsc0000001"), 0, 50)] == ["DSC000000101"]
