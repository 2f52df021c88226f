"""Open sessions are re-checked on every call: deactivation, lock, sign-out, idleness and role changes take
effect at the next action, and an Actor made by hand does nothing."""

import dataclasses

import pyotp
import pytest
from sqlalchemy import select, update

from console.models.context import Actor
from console.models.entities import AuditEntry, Challenge, StaffMember
from console.models.enums import DeviceKind, DeviceState, StaffRole
from console.models.errors import PermissionDenied
from console.models.settings_service import SettingsService
from console.models.temporary_access import TemporaryAccessService
from console.models.verification import VerificationService
from tests.factories import add_device

PASSWORD = "correct horse battery"


@pytest.fixture
def staff(staff_service, clock):
    """Two administrators and a help-desk member, each signed in through the real sign-in."""
    first = staff_service.add_first_administrator("alex", "Alex Admin", PASSWORD)
    alex = staff_service.sign_in("alex", PASSWORD, pyotp.TOTP(first.totp_secret).at(clock.now()))
    made = {"alex": alex}
    for name, role in (("bea", StaffRole.administrator), ("harriet", StaffRole.help_desk)):
        e = staff_service.add(alex, name, name.title(), role, PASSWORD)
        made[name] = staff_service.sign_in(name, PASSWORD, pyotp.TOTP(e.totp_secret).at(clock.now()))
    return made


def audit_actions(ctx):
    with ctx.db.read() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_deactivated_members_open_session_does_nothing(ctx, staff_service, staff):
    """Bea deactivates Alex; Alex's console, still open, can no longer add an administrator, reset a second
    factor or raise the sign-in lockout."""
    staff_service.deactivate(staff["bea"], "alex")
    before = audit_actions(ctx)
    with pytest.raises(PermissionDenied, match="deactivated"):
        staff_service.add(staff["alex"], "mallory", "Mallory", StaffRole.administrator, PASSWORD)
    with pytest.raises(PermissionDenied, match="deactivated"):
        staff_service.reset_second_factor(staff["alex"], "bea")
    with pytest.raises(PermissionDenied, match="deactivated"):
        SettingsService(ctx).update(staff["alex"], "staff_signin_failures", 100)
    assert audit_actions(ctx) == before
    assert "mallory" not in [m.username for m in staff_service.members(staff["bea"])]


def test_actor_made_by_hand_does_nothing(ctx, staff_service, staff):
    """An Actor built in code (no sign-in), even naming a real administrator or carrying a real session id
    with a guessed token, is refused."""
    for forged in (Actor("root", "Root", StaffRole.administrator),
                   Actor("alex", "Alex Admin", StaffRole.administrator),
                   dataclasses.replace(staff["alex"], token="guessed"),
                   dataclasses.replace(staff["harriet"], username="alex", role=StaffRole.administrator)):
        with pytest.raises(PermissionDenied):
            staff_service.add(forged, "mallory", "Mallory", StaffRole.administrator, PASSWORD)
    with ctx.db.read() as s:
        assert s.scalars(select(StaffMember).where(StaffMember.username == "mallory")).first() is None


def test_locked_members_open_session_cannot_issue_a_passcode(ctx, world, staff_service, staff):
    """Harriet's sign-in gets locked by failures at another desk; her open session issues no passcode."""
    for _ in range(5):
        with pytest.raises(PermissionDenied.__base__):
            staff_service.sign_in("harriet", "wrong password!", "000000")
        ctx.clock.advance(seconds=61)
    with pytest.raises(PermissionDenied, match="locked"):
        TemporaryAccessService(ctx).issue_temporary_passcode(staff["harriet"], world.secondary_id,
                                                         identity_verified=True)


def test_signed_out_session_does_nothing(ctx, staff_service, staff):
    staff_service.sign_out(staff["alex"])
    assert audit_actions(ctx)[-1] == "staff.signed_out"
    with pytest.raises(PermissionDenied, match="signed out"):
        staff_service.members(staff["alex"])
    staff_service.sign_out(staff["alex"])  # again: nothing more happens
    assert audit_actions(ctx).count("staff.signed_out") == 1


def test_idle_session_ends_and_activity_keeps_it(ctx, staff_service, staff):
    """Each call counts as activity; past `staff_idle_minutes` without one, the session ends."""
    ctx.clock.advance(minutes=20)
    staff_service.members(staff["alex"])  # a read: activity
    ctx.clock.advance(minutes=20)
    staff_service.members(staff["alex"])  # 40 minutes after sign-in, 20 after the last call: still open
    ctx.clock.advance(minutes=31)
    with pytest.raises(PermissionDenied, match="without activity"):
        staff_service.members(staff["alex"])


def test_role_change_applies_at_next_action(ctx, staff_service, staff):
    """The role is read from the staff row on each call, not from the Actor held by the open console."""
    with ctx.db.write() as s:
        s.execute(update(StaffMember).where(StaffMember.username == "bea").values(role=StaffRole.auditor))
    with pytest.raises(PermissionDenied, match="Auditor"):
        staff_service.members(staff["bea"])


def test_auditor_cannot_write_challenges_and_challenges_are_audited(ctx, world, staff, auditor, agent):
    """Challenges are writes: an auditor's session is refused; an agent's is recorded in the audit trail."""
    with ctx.db.write() as s:
        card, _ = add_device(s, ctx, None, DeviceKind.dsc_plus, DeviceState.in_stock, serial="DSC-7")
    service = VerificationService(ctx)
    with pytest.raises(PermissionDenied):
        service.issue_challenge(auditor, card.id)
    with ctx.db.read() as s:
        assert s.scalars(select(Challenge)).first() is None
    service.issue_challenge(agent, card.id)
    assert audit_actions(ctx)[-1] == "device.challenge_issued"


def test_automatic_run_actor_only_inside_the_run(ctx, staff_service, staff):
    """The start-up run's actor works only inside the run and only for its own jobs."""
    from console.models.returns import ReturnsService
    from console.models.sessions import automatic_run

    with automatic_run(ctx.clock) as system:
        ReturnsService(ctx).charge_overdue(system)
        with pytest.raises(PermissionDenied, match="automatic run may not"):
            staff_service.add(system, "mallory", "Mallory", StaffRole.administrator, PASSWORD)
    with pytest.raises(PermissionDenied):
        ReturnsService(ctx).charge_overdue(system)
