"""Changing a staff member's role: administrators only, never their own, never the last active administrator,
audited under the staff rows' tamper evidence, refused on a stale screen, and in force on every open desk of
the member at its next action."""

import pyotp
import pytest
from sqlalchemy import select, text

from console.models import audit
from console.models.entities import AuditEntry, StaffMember
from console.models.enums import StaffRole
from console.models.errors import ConcurrentChange, InvalidInput, PermissionDenied, RuleViolation, SessionEnded
from console.models.temporary_access import TemporaryAccessService

PASSWORD = "correct horse battery"


@pytest.fixture
def staff(staff_service, clock):
    """Alex (administrator) and Harriet (help desk), each signed in through the real sign-in; their enrollments
    let a test sign them in again."""
    alex_e = staff_service.add_first_administrator("alex", "Alex Admin", PASSWORD)
    alex = staff_service.sign_in("alex", PASSWORD, pyotp.TOTP(alex_e.totp_secret).at(clock.now()))
    harriet_e = staff_service.add(alex, "harriet", "Harriet Desk", StaffRole.help_desk, PASSWORD)
    harriet = staff_service.sign_in("harriet", PASSWORD, pyotp.TOTP(harriet_e.totp_secret).at(clock.now()))
    clock.advance(seconds=30)  # the next sign-in uses a fresh code
    return {"alex": alex, "harriet": harriet, "harriet_e": harriet_e}


def role_of(ctx, username: str) -> StaffRole:
    with ctx.db.read() as s:
        return s.scalar(select(StaffMember.role).where(StaffMember.username == username))


def entries(ctx) -> list[AuditEntry]:
    with ctx.db.read() as s:
        found = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        s.expunge_all()
        return found


def test_role_change_is_audited_with_the_rows_state_and_the_trail_verifies(ctx, staff_service, staff):
    """The entry names the member, the old and the new role; it records the row's state, so `audit verify`
    stays intact after the change through the console and names a role changed back in the database."""
    change = staff_service.change_role(staff["alex"], "harriet", StaffRole.auditor)
    assert (change.username, change.old_role, change.new_role, change.sessions_ended) == (
        "harriet", StaffRole.help_desk, StaffRole.auditor, 1)
    assert role_of(ctx, "harriet") is StaffRole.auditor
    last = entries(ctx)[-1]
    assert last.action == "staff.role_changed" and last.actor == "alex"
    assert "harriet (Harriet Desk) changed from Help-desk to Auditor" in last.summary
    assert '"staff_state"' in last.details and '"to":"auditor"' in last.details
    with ctx.db.read() as s:
        assert audit.verify(s).ok
    with ctx.db.engine.begin() as conn:  # someone with database access puts the old role back, outside the console
        conn.execute(text("UPDATE staff SET role = 'help_desk' WHERE username = 'harriet'"))
    with ctx.db.read() as s:
        result = audit.verify(s)
    assert not result.ok and result.staff_member == "harriet"


def test_only_administrators_change_roles(ctx, staff_service, staff):
    """A help-desk member's session may not make itself (or anyone) an administrator; nothing changes."""
    before = len(entries(ctx))
    with pytest.raises(PermissionDenied, match="may not add and change staff accounts"):
        staff_service.change_role(staff["harriet"], "harriet", StaffRole.administrator)
    assert role_of(ctx, "harriet") is StaffRole.help_desk and len(entries(ctx)) == before


def test_the_last_active_administrator_keeps_the_role(ctx, staff_service, staff):
    """Alex, the only active administrator (Bea is deactivated), cannot give himself another role: the firm would
    have nobody to manage staff. Once Harriet is an administrator too, Alex may step down."""
    staff_service.add(staff["alex"], "bea", "Bea Admin", StaffRole.administrator, PASSWORD)
    staff_service.deactivate(staff["alex"], "bea")
    before = len(entries(ctx))
    with pytest.raises(RuleViolation, match="alex is the last active administrator; make another member an "
                                            "administrator first"):
        staff_service.change_role(staff["alex"], "alex", StaffRole.help_desk)
    assert role_of(ctx, "alex") is StaffRole.administrator and len(entries(ctx)) == before
    staff_service.change_role(staff["alex"], "harriet", StaffRole.administrator)
    change = staff_service.change_role(staff["alex"], "alex", StaffRole.back_office)
    assert change.sessions_ended == 1 and role_of(ctx, "alex") is StaffRole.back_office
    with pytest.raises(SessionEnded, match="role changed to Back office"):
        staff_service.members(staff["alex"])


def test_a_deactivated_administrator_may_be_given_another_role(ctx, staff_service, staff):
    """Bea is deactivated: changing her role takes no active administrator away, so it goes through."""
    staff_service.add(staff["alex"], "bea", "Bea Admin", StaffRole.administrator, PASSWORD)
    staff_service.deactivate(staff["alex"], "bea")
    assert staff_service.change_role(staff["alex"], "bea", StaffRole.auditor).sessions_ended == 0
    assert role_of(ctx, "bea") is StaffRole.auditor


def test_bad_role_same_role_and_unknown_member_refused(ctx, staff_service, staff):
    with pytest.raises(InvalidInput, match="The role must be one of"):
        staff_service.change_role(staff["alex"], "harriet", "boss")
    with pytest.raises(RuleViolation, match="already Help-desk"):
        staff_service.change_role(staff["alex"], "harriet", StaffRole.help_desk)
    with pytest.raises(Exception, match="no staff member called 'ghost'"):
        staff_service.change_role(staff["alex"], "ghost", StaffRole.auditor)
    assert role_of(ctx, "harriet") is StaffRole.help_desk


def test_role_change_on_a_stale_screen_is_refused_naming_the_change(ctx, staff_service, staff):
    """Alex's staff list showed Harriet at the help desk; another administrator made her an auditor meanwhile. Alex's
    change to back office, decided on the old row, is refused naming that change; nothing else changes."""
    bea_e = staff_service.add(staff["alex"], "bea", "Bea Admin", StaffRole.administrator, PASSWORD)
    bea = staff_service.sign_in("bea", PASSWORD, pyotp.TOTP(bea_e.totp_secret).at(ctx.clock.now()))
    [shown] = [m for m in staff_service.members(staff["alex"]) if m.username == "harriet"]
    staff_service.change_role(bea, "harriet", StaffRole.auditor)
    with pytest.raises(ConcurrentChange, match=r"Another desk changed harriet .*Help-desk to Auditor.*\(by Bea Admin"):
        staff_service.change_role(staff["alex"], "harriet", StaffRole.back_office, shown=shown)
    assert role_of(ctx, "harriet") is StaffRole.auditor


def test_the_demoted_members_open_desk_is_refused_at_its_next_action(ctx, world, staff_service, staff, clock):
    """Two sessions: Harriet's desk is open when Alex makes her an auditor. Her next action (a temporary passcode)
    is refused, saying her role changed, and changes nothing. Signing in again gives a new session with the
    auditor's role (the old one is not resumed), which may look but not issue passcodes."""
    from tests.lifecycle import audit_count

    staff_service.change_role(staff["alex"], "harriet", StaffRole.auditor)
    before = audit_count(ctx)
    with pytest.raises(SessionEnded, match="role changed to Auditor"):
        TemporaryAccessService(ctx).issue_temporary_passcode(staff["harriet"], world.secondary_id,
                                                             identity_verified=True)
    assert audit_count(ctx) == before
    again = staff_service.sign_in("harriet", PASSWORD, pyotp.TOTP(staff["harriet_e"].totp_secret).at(clock.now()),
                                  resume=staff["harriet"])
    assert again is not staff["harriet"] and again.role is StaffRole.auditor
    with pytest.raises(PermissionDenied, match=r"Harriet Desk \(Auditor\) may not issue temporary passcodes"):
        TemporaryAccessService(ctx).issue_temporary_passcode(again, world.secondary_id, identity_verified=True)


def test_a_demoted_administrators_open_session_manages_no_staff(ctx, staff_service, staff, clock):
    """Alex, demoted to back office by another administrator, can no longer add staff from the desk left open."""
    staff_service.change_role(staff["alex"], "harriet", StaffRole.administrator)
    harriet = staff_service.sign_in("harriet", PASSWORD, pyotp.TOTP(staff["harriet_e"].totp_secret).at(clock.now()))
    staff_service.change_role(harriet, "alex", StaffRole.back_office)
    with pytest.raises(PermissionDenied):
        staff_service.add(staff["alex"], "mallory", "Mallory", StaffRole.administrator, PASSWORD)
    assert "mallory" not in [m.username for m in staff_service.members(harriet)]
