"""Signing in again after a session ended: the same staff member gets the desk's session back (its windows go
on), anyone else, or the same member in a changed role, gets a new one; the credentials are checked as ever."""

import pyotp
import pytest
from sqlalchemy import update

from console.models.entities import StaffMember
from console.models.enums import StaffRole
from console.models.errors import SessionEnded, VerificationFailed

PASSWORD = "correct horse battery"


@pytest.fixture
def people(staff_service, clock):
    first = staff_service.add_first_administrator("alex", "Alex Admin", PASSWORD)
    alex = staff_service.sign_in("alex", PASSWORD, pyotp.TOTP(first.totp_secret).at(clock.now()))
    bea = staff_service.add(alex, "bea", "Bea Admin", StaffRole.administrator, PASSWORD)
    return {"alex": (first, alex), "bea": (bea, None)}


def code(enrollment, clock):
    clock.advance(seconds=30)  # each code is accepted once
    return pyotp.TOTP(enrollment.totp_secret).at(clock.now())


def test_same_member_signing_in_again_resumes_the_desks_session(staff_service, clock, people):
    """Signed out elsewhere (or idle), Alex signs in again with `resume`: the desk's own Actor works again."""
    enrollment, desk_actor = people["alex"]
    staff_service.sign_out(desk_actor)
    with pytest.raises(SessionEnded):
        staff_service.members(desk_actor)
    again = staff_service.sign_in("alex", PASSWORD, code(enrollment, clock), resume=desk_actor)
    assert again is desk_actor
    assert [m.username for m in staff_service.members(desk_actor)] == ["alex", "bea"]


def test_another_member_gets_a_new_session_and_the_old_one_stays_ended(staff_service, clock, people):
    enrollment, desk_actor = people["alex"]
    staff_service.sign_out(desk_actor)
    bea = staff_service.sign_in("bea", PASSWORD, code(people["bea"][0], clock), resume=desk_actor)
    assert bea.username == "bea" and bea.session_id != desk_actor.session_id
    with pytest.raises(SessionEnded):
        staff_service.members(desk_actor)


def test_wrong_credentials_resume_nothing(staff_service, clock, people):
    enrollment, desk_actor = people["alex"]
    staff_service.sign_out(desk_actor)
    with pytest.raises(VerificationFailed):
        staff_service.sign_in("alex", "wrong password!", code(enrollment, clock), resume=desk_actor)
    with pytest.raises(SessionEnded):
        staff_service.members(desk_actor)


def test_a_changed_role_starts_a_new_session(ctx, staff_service, clock, people):
    """The desk was built for the old role: the member signs in to a new session (a clean desk)."""
    enrollment, desk_actor = people["alex"]
    bea = staff_service.sign_in("bea", PASSWORD, code(people["bea"][0], clock))
    with ctx.db.write() as s:
        s.execute(update(StaffMember).where(StaffMember.username == "alex").values(role=StaffRole.auditor))
    staff_service.sign_out(desk_actor)
    again = staff_service.sign_in("alex", PASSWORD, code(enrollment, clock), resume=desk_actor)
    assert again.role is StaffRole.auditor and again.session_id != desk_actor.session_id
    assert bea.username == "bea"
