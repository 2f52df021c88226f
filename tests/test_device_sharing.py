"""Sharing a device with a further username from the devices screen: proven by a good code, refused by each
sharing rule (rules in sharing.py), and unsharing back."""

import datetime as dt

import pyotp
import pytest
from sqlalchemy import func, select

from console.models.devices import DeviceService
from console.models.entities import DeviceHolding
from console.models.enums import DeviceKind, SlsState, UserRole
from console.models.errors import RuleViolation, VerificationFailed
from console.models.temporary_access import TemporaryAccessService
from tests.factories import add_account, add_device, add_person, add_same_person_username, add_user
from tests.lifecycle import audit_actions, user


@pytest.fixture
def svc(ctx):
    return DeviceService(ctx)


@pytest.fixture
def twin(ctx, world, immediate_sharing):
    """jsmit777: another username of John Smith (jsmit123) in account U2222222, enrolled with a printed card."""
    return add_same_person_username(ctx, world.secondary_id, "jsmit777", "U2222222", (DeviceKind.code_card,))


def _code(ctx, world):
    return pyotp.TOTP(world.secondary_seed).at(ctx.clock.now())


def _holders(ctx, device_id):
    with ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(DeviceHolding).where(DeviceHolding.device_id == device_id))


def test_share_proven_by_a_good_code_then_unshared(ctx, world, svc, twin, agent):
    """A good code from jsmit123's IB Key under jsmit777 shares it; unsharing gives it back to jsmit123 alone."""
    svc.share(agent, world.secondary_device_id, twin["user_id"], _code(ctx, world))
    assert _holders(ctx, world.secondary_device_id) == 2
    assert user(ctx, twin["user_id"]).active_devices == 2
    assert "device.shared" in audit_actions(ctx, world.secondary_device_id)
    svc.unshare(agent, world.secondary_device_id, twin["user_id"])
    assert _holders(ctx, world.secondary_device_id) == 1
    assert user(ctx, twin["user_id"]).active_devices == 1


def test_share_refused_with_a_wrong_code(ctx, world, svc, twin, agent):
    """Without proof of possession nothing is shared."""
    code = _code(ctx, world)
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(VerificationFailed):
        svc.share(agent, world.secondary_device_id, twin["user_id"], wrong)
    assert _holders(ctx, world.secondary_device_id) == 1


def test_share_refused_between_different_people(ctx, world, svc, agent):
    """ccole001 (Carol Cole, another person) cannot share John Smith's IB Key."""
    with ctx.db.write() as s:
        acct = add_account(s, ctx, "U5555555", title="Carol Cole")
        carol = add_user(s, ctx, acct, add_person(s, "Carol Cole", date_of_birth=dt.date(1975, 1, 2)), "ccole001",
                         UserRole.primary, SlsState.enrolled)
        add_device(s, ctx, carol, DeviceKind.ib_key)
        carol_id = carol.id
    with pytest.raises(RuleViolation, match="not the same person") as refused:
        svc.share(agent, world.secondary_device_id, carol_id, _code(ctx, world))
    assert "John Smith" not in str(refused.value) and "Carol" not in str(refused.value)


def test_share_refused_while_a_user_has_temporary_access(ctx, world, svc, twin, agent):
    """No sharing while any of the usernames holds a temporary passcode."""
    TemporaryAccessService(ctx).issue_temporary_passcode(agent, twin["user_id"], identity_verified=True)
    with pytest.raises(RuleViolation, match="temporary device"):
        svc.share(agent, world.secondary_device_id, twin["user_id"], _code(ctx, world))


def test_share_refused_for_less_secure_device(ctx, world, svc, twin, agent):
    """jsmit777's printed card is less protective than jsmit888's IB Key: "less secure device"."""
    other = add_same_person_username(ctx, world.secondary_id, "jsmit888", "U3333333", (DeviceKind.ib_key,))
    card_id = twin["devices"][0][0]
    with pytest.raises(RuleViolation, match="Less secure device"):
        svc.share(agent, card_id, other["user_id"], "ABCDEF")


def test_share_refused_without_security_rights(ctx, world, svc, agent):
    """Sharing into a username that does not hold its account's rights stops with the holder's name."""
    from console.models.errors import RightsError

    with pytest.raises(RightsError, match="bbake001"):
        svc.share(agent, world.secondary_device_id, world.org_primary_id, _code(ctx, world))


def test_share_refused_for_opted_out_user(ctx, world, svc, agent):
    """An opted-out username gets a shared device through the opt-in, not from the devices screen."""
    with pytest.raises(RuleViolation, match="through the opt-in"):
        svc.share(agent, world.secondary_device_id, world.primary_id, _code(ctx, world))


def test_share_refused_when_the_user_already_holds_it(ctx, world, svc, twin, agent):
    """Sharing twice is refused: jsmit777 already uses the IB Key."""
    svc.share(agent, world.secondary_device_id, twin["user_id"], _code(ctx, world))
    ctx.clock.advance(seconds=30)
    with pytest.raises(RuleViolation, match="already uses"):
        svc.share(agent, world.secondary_device_id, twin["user_id"], _code(ctx, world))


def test_share_refused_for_a_locked_device(ctx, world, svc, twin, agent):
    """A locked device is not shared until staff unlock it."""
    from console.models.entities import SecurityDevice

    with ctx.db.write() as s:
        s.get(SecurityDevice, world.secondary_device_id).locked = True
    with pytest.raises(RuleViolation, match="locked"):
        svc.share(agent, world.secondary_device_id, twin["user_id"], _code(ctx, world))


def test_share_refused_for_a_device_not_active(ctx, world, svc, twin, agent):
    """A device reported lost cannot be shared."""
    svc.report(agent, twin["devices"][0][0], "lost", user_id=twin["user_id"], issue_temporary_passcode=True,
               identity_verified=True)
    other = add_same_person_username(ctx, world.secondary_id, "jsmit888", "U3333333", (DeviceKind.ib_key,))
    with pytest.raises(RuleViolation, match="not active"):
        svc.share(agent, twin["devices"][0][0], other["user_id"], "ABCDEF")


def test_share_refused_for_a_temporary_passcode(ctx, world, svc, twin, agent):
    """A temporary passcode is never shared."""
    issued = TemporaryAccessService(ctx).issue_temporary_passcode(agent, world.secondary_id,
                                                                  identity_verified=True)
    with pytest.raises(RuleViolation, match="temporary"):
        svc.share(agent, issued.device_id, twin["user_id"], issued.passcode)
    assert _holders(ctx, issued.device_id) == 1
