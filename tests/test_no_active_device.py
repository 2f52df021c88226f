"""An enrolled user whose last temporary access expires moves to "No active device", is on the work list,
and comes back by temporary access or an opt-in."""

from __future__ import annotations

import pytest

from console.app import run_startup_tasks
from console.models.devices import DeviceService
from console.models.directory import UserDirectory, UserQuery
from console.models.enrollment import EnrollmentService
from console.models.enums import SlsState
from console.models.errors import RuleViolation
from console.models.temporary_access import TemporaryAccessService
from tests.invariants import assert_invariants
from tests.lifecycle import audit_actions, enroll_primary, user


@pytest.fixture
def stranded(ctx, world, agent, clock):
    """jsmit001's only device (an IB Key) lost with a temporary passcode, and 12 days later it expired."""
    key = enroll_primary(ctx, world)
    DeviceService(ctx).report(agent, key, "lost", user_id=world.primary_id, issue_temporary_passcode=True,
                              identity_verified=True)
    clock.advance(days=12, minutes=1)
    run_startup_tasks(ctx)
    return world.primary_id


def test_expiry_of_the_last_temporary_access_moves_the_user_to_no_active_device(ctx, stranded):
    """The start-up run's expiry leaves no 'enrolled' user with nothing to log in with; audited."""
    u = user(ctx, stranded)
    assert u.sls_state is SlsState.no_device and u.active_devices == 0
    assert "user.no_active_device" in audit_actions(ctx)
    assert_invariants(ctx)


def test_expiry_keeps_a_user_with_another_device_enrolled(ctx, world, agent, clock):
    """A passcode expiring while the user still has an active device changes nothing for the user."""
    enroll_primary(ctx, world)
    TemporaryAccessService(ctx).issue_temporary_passcode(agent, world.primary_id, identity_verified=True)
    clock.advance(days=13)
    run_startup_tasks(ctx)
    assert user(ctx, world.primary_id).sls_state is SlsState.enrolled
    assert "user.no_active_device" not in audit_actions(ctx)


def test_no_active_device_users_are_on_the_work_list(ctx, stranded):
    """The users list filters them, and the work list's service query returns them."""
    directory = UserDirectory(ctx)
    assert [r.username for r in directory.without_active_device()] == ["jsmit001"]
    assert directory.count(UserQuery(state=SlsState.no_device)) == 1
    assert directory.counts_by_state()[SlsState.no_device] == 1
    assert directory.details(stranded).sls_state.label == "No active device"


def test_an_online_card_brings_the_user_back(ctx, stranded, agent):
    """A second passcode would be consecutive; an Online Security Code Card is issued and activated instead,
    and the user is enrolled again (audited)."""
    from console.models.verification import VerificationService

    temporary = TemporaryAccessService(ctx)
    with pytest.raises(RuleViolation, match="never issued in a row"):
        temporary.issue_temporary_passcode(agent, stranded, identity_verified=True)
    card = temporary.issue_online_card(agent, stranded)
    ch = VerificationService(ctx).issue_challenge(agent, card.device_id)
    temporary.activate_online_card(agent, card.device_id, ch.id, "".join(card.values[p] for p in ch.positions))
    assert user(ctx, stranded).sls_state is SlsState.enrolled
    assert "user.device_restored" in audit_actions(ctx)
    assert_invariants(ctx)


def test_an_opt_in_brings_the_user_back_and_cancel_returns_to_no_active_device(ctx, stranded, agent):
    """The client may opt in again; cancelling leaves the user where it was, without opt-out restrictions."""
    enrollment = EnrollmentService(ctx)
    enrollment.start_ib_key(agent, stranded)
    assert user(ctx, stranded).sls_state is SlsState.pending
    assert enrollment.cancel(agent, stranded)
    assert user(ctx, stranded).sls_state is SlsState.no_device
    assert_invariants(ctx)


def test_opted_out_and_pending_users_get_no_temporary_access(ctx, world, agent):
    """Temporary access is for enrolled users (or those with no active device), never for the others."""
    with pytest.raises(RuleViolation, match="opted out"):
        TemporaryAccessService(ctx).issue_temporary_passcode(agent, world.primary_id, identity_verified=True)
    EnrollmentService(ctx).start_ib_key(agent, world.primary_id)
    with pytest.raises(RuleViolation, match="opt-in in progress"):
        TemporaryAccessService(ctx).issue_temporary_passcode(agent, world.primary_id, identity_verified=True)


def test_work_list_lists_users_whose_last_access_expired(ctx, stranded, agent):
    """The supervisors' work list has the user under "Users with no active device", opening the user."""
    from console.models.work_list import WorkListService

    sections = {x.source: x for x in WorkListService(ctx).today(agent)}
    assert [i.user_id for i in sections["no_device"].items] == [stranded]
    assert sections["no_device"].items[0].opens == "user"
