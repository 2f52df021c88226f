"""Sharing rules of docs/domain-facts.md: same person, no temporary device, the most protective device, active only."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from console.models.entities import AuditEntry, DeviceHolding, SecurityDevice, User
from console.models.enums import DeviceKind, DeviceState, SlsState, UserRole
from console.models.errors import RuleViolation
from console.models.sharing import check_share, share
from tests.factories import add_account, add_device, add_person, add_user


@pytest.fixture
def twins(ctx, world):
    """Jane Smith holds jsmit001 (U1234567, opted out) and, in a second account, jsmit777 with an IB Key.

    The second account's person row is a separate entity with the same identification data as Jane's.
    """
    with ctx.db.write() as s:
        jane = s.get(User, world.primary_id).person
        acct = add_account(s, ctx, "U2222222", title="Jane Smith (IRA)")
        twin = add_person(s, "Jane Smith", date_of_birth=jane.date_of_birth,
                          id_document_number=jane.id_document_number)
        other = add_user(s, ctx, acct, twin, "jsmit777", UserRole.primary, SlsState.enrolled)
        device, seed = add_device(s, ctx, other, DeviceKind.ib_key)
        return {"owner_id": other.id, "device_id": device.id, "seed": seed, "account_id": acct.id}


def _check(ctx, device_id, user_id, at=None):
    with ctx.db.read() as s:
        check_share(s, s.get(SecurityDevice, device_id), s.get(User, user_id), at)


def test_share_allowed_between_usernames_of_same_identification_data(ctx, world, twins):
    """Two person records with the same identification data are one person: the share passes the rules."""
    _check(ctx, twins["device_id"], world.primary_id)


def test_share_refused_when_users_belong_to_different_people(ctx, world):
    """John's IB Key cannot be shared with Jane's username: different people."""
    with pytest.raises(RuleViolation, match=r"jsmit123 and jsmit001 are not the same person") as refused:
        _check(ctx, world.secondary_device_id, world.primary_id)
    # The agent is told usernames only, never another client's name (privacy).
    assert "John" not in str(refused.value) and "Jane" not in str(refused.value)


def test_share_refused_when_requesting_user_has_temporary_device(ctx, world, twins):
    """A requesting username that holds a live temporary passcode cannot share."""
    with ctx.db.write() as s:
        d, _ = add_device(s, ctx, s.get(User, world.primary_id), DeviceKind.temporary_passcode)
        d.expires_at = ctx.clock.now() + dt.timedelta(days=2)
    with pytest.raises(RuleViolation, match="jsmit001 has a temporary device \\(Temporary passcode\\)"):
        _check(ctx, twins["device_id"], world.primary_id, ctx.clock.now())
    # Once expired it no longer counts.
    _check(ctx, twins["device_id"], world.primary_id, ctx.clock.now() + dt.timedelta(days=3))


def test_share_refused_when_owner_has_online_card(ctx, world, twins):
    """The owner holding an Online Security Code Card blocks the share (temporary device on either side)."""
    with ctx.db.write() as s:
        add_device(s, ctx, s.get(User, twins["owner_id"]), DeviceKind.online_code_card, preferred=False)
    with pytest.raises(RuleViolation, match="jsmit777 has a temporary device"):
        _check(ctx, twins["device_id"], world.primary_id)


def test_share_refused_for_temporary_device_itself(ctx, world, twins):
    """An Online Security Code Card is never shared."""
    with ctx.db.write() as s:
        d, _ = add_device(s, ctx, s.get(User, twins["owner_id"]), DeviceKind.online_code_card, preferred=False)
        card_id = d.id
    with pytest.raises(RuleViolation, match="temporary and cannot be shared"):
        _check(ctx, card_id, world.primary_id)


def test_share_refused_for_less_secure_device(ctx, world, twins):
    """The owner has a DSC+ and a code card: sharing the card fails with "less secure device"."""
    with ctx.db.write() as s:
        owner = s.get(User, twins["owner_id"])
        add_device(s, ctx, owner, DeviceKind.dsc_plus, serial="DSC1", preferred=False)
        card, _ = add_device(s, ctx, owner, DeviceKind.code_card, serial="CC1", preferred=False)
        card_id = card.id
    with pytest.raises(RuleViolation, match="Less secure device.*Share the DSC\\+ instead"):
        _check(ctx, card_id, world.primary_id)


def test_share_refused_for_locked_or_inactive_device(ctx, world, twins):
    """A locked device, or one not active, cannot be shared."""
    with ctx.db.write() as s:
        s.get(SecurityDevice, twins["device_id"]).locked = True
    with pytest.raises(RuleViolation, match="locked"):
        _check(ctx, twins["device_id"], world.primary_id)
    with ctx.db.write() as s:
        d = s.get(SecurityDevice, twins["device_id"])
        d.locked, d.state = False, DeviceState.lost
    with pytest.raises(RuleViolation, match="is lost, not active"):
        _check(ctx, twins["device_id"], world.primary_id)


def test_share_adds_holding_counts_and_audits(ctx, world, twins, agent):
    """share() adds a preferred holding for a user with none, refreshes active_devices, audits device.shared."""
    with ctx.db.write() as s:
        share(s, s.get(SecurityDevice, twins["device_id"]), s.get(User, world.primary_id), ctx.clock.now(), agent)
    with ctx.db.read() as s:
        holding = s.scalars(select(DeviceHolding).where(DeviceHolding.user_id == world.primary_id)).one()
        assert holding.device_id == twins["device_id"] and holding.preferred
        assert s.get(User, world.primary_id).active_devices == 1
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "device.shared")).one()
        assert entry.actor == "hdesk01" and entry.user_id == world.primary_id
        assert "jsmit777" in entry.summary


def test_refused_share_changes_nothing(ctx, world, agent):
    """share() refused by a rule leaves holdings and the audit trail untouched."""
    with ctx.db.read() as s:
        before = (s.scalar(select(func.count()).select_from(DeviceHolding)),
                  s.scalar(select(func.count()).select_from(AuditEntry)))
    with pytest.raises(RuleViolation):
        with ctx.db.write() as s:
            share(s, s.get(SecurityDevice, world.secondary_device_id), s.get(User, world.primary_id),
                  ctx.clock.now(), agent)
    with ctx.db.read() as s:
        after = (s.scalar(select(func.count()).select_from(DeviceHolding)),
                 s.scalar(select(func.count()).select_from(AuditEntry)))
    assert before == after


def test_share_refused_when_already_held(ctx, world, twins, agent):
    """A username that already holds the device is told there is nothing to share."""
    with pytest.raises(RuleViolation, match="already uses"):
        _check(ctx, twins["device_id"], twins["owner_id"])


def test_other_usernames_of_the_person_are_listed_for_the_sharing_page(ctx, world, agent):
    """The sharing page lists the person's other usernames (same identification data) with their active
    devices; a namesake with other identification data and the other users of the account are not listed."""
    from console.models.enrollment import EnrollmentService
    from tests.factories import add_same_person_username

    add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    with ctx.db.write() as s:
        namesake = add_person(s, "Jane Smith", id_document_number="P99999999", ssn="999-99-9999")
        add_user(s, ctx, add_account(s, ctx, "U3333333"), namesake, "jsmit888", UserRole.primary, SlsState.enrolled)
    listed = EnrollmentService(ctx).other_usernames(agent, world.primary_id)
    assert [(o.username, o.account_number, o.active_devices) for o in listed] == [
        ("jsmit777", "U2222222", ("IB Key IB_KEY-jsmit777-0",))]
