"""Staff sign-in: Argon2id passwords, a TOTP second factor, replay refusal, throttling then lock."""

import pyotp
import pytest
from sqlalchemy import func, select

from console.models import audit
from console.models.entities import AuditEntry, StaffMember
from console.models.enums import StaffRole
from console.models.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation, VerificationFailed

PASSWORD = "correct horse battery"


def code(enrollment, clock, offset_steps=0):
    return pyotp.TOTP(enrollment.totp_secret).at(clock.now().timestamp() + 30 * offset_steps)


@pytest.fixture
def alex(staff_service):
    return staff_service.add_first_administrator("alex", "Alex Admin", PASSWORD)


@pytest.fixture
def admin(staff_service, alex, clock):
    """Alex's own session, from a real sign-in."""
    session = staff_service.sign_in("alex", PASSWORD, code(alex, clock))
    clock.advance(seconds=30)  # the next sign-in in a test uses a fresh code
    return session


@pytest.fixture
def harriet(staff_service, alex, admin):
    return staff_service.add(admin, "harriet", "Harriet Desk", StaffRole.help_desk, PASSWORD)


def audit_actions(ctx):
    with ctx.db.read() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_first_administrator_only_on_an_empty_database(ctx, staff_service, alex):
    """The first administrator is added without signing in; once staff exist, that door is shut."""
    with pytest.raises(PermissionDenied, match="already has staff"):
        staff_service.add_first_administrator("mallory", "Mallory", PASSWORD)
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(StaffMember)) == 1


def test_password_stored_as_argon2id_and_totp_secret_sealed(ctx, staff_service, alex):
    """The password is an Argon2id hash; the TOTP secret is sealed, not stored in the clear."""
    with ctx.db.read() as s:
        m = s.scalars(select(StaffMember)).one()
        assert m.password_hash.startswith("$argon2id$")
        assert PASSWORD not in m.password_hash
        assert alex.totp_secret.encode() not in m.sealed_totp_secret
    assert alex.otpauth_uri.startswith("otpauth://totp/SLS%20Console:alex?secret=")


def test_sign_in_with_password_and_code_returns_actor(ctx, clock, staff_service, harriet):
    """Right password and current code: the Actor carries the staff member's role; an audit entry is written."""
    actor = staff_service.sign_in("Harriet", PASSWORD, code(harriet, clock))
    assert (actor.username, actor.role) == ("harriet", StaffRole.help_desk)
    assert audit_actions(ctx)[-1] == "staff.signed_in"


def test_staff_totp_code_accepted_once(ctx, clock, staff_service, harriet):
    """A code already used to sign in is refused as a replay, even within its 30 seconds."""
    c = code(harriet, clock)
    staff_service.sign_in("harriet", PASSWORD, c)
    clock.advance(seconds=5)
    with pytest.raises(VerificationFailed, match="not right"):
        staff_service.sign_in("harriet", PASSWORD, c)
    clock.advance(seconds=60)
    assert staff_service.sign_in("harriet", PASSWORD, code(harriet, clock)).username == "harriet"


def test_full_width_digits_refused(ctx, clock, staff_service, harriet):
    """pyotp accepts full-width digits; the service accepts only ASCII 0-9."""
    wide = "".join(chr(ord(ch) + 0xFEE0) for ch in code(harriet, clock))
    with pytest.raises(VerificationFailed):
        staff_service.sign_in("harriet", PASSWORD, wide)


def test_wrong_password_and_unknown_user_get_the_same_message(ctx, clock, staff_service, harriet):
    """Nothing tells an outsider whether the username exists."""
    with pytest.raises(VerificationFailed) as unknown:
        staff_service.sign_in("nobody", PASSWORD, code(harriet, clock))
    clock.advance(minutes=1)
    with pytest.raises(VerificationFailed) as wrong:
        staff_service.sign_in("harriet", "wrong password!", code(harriet, clock))
    assert str(unknown.value) == str(wrong.value)


def locked(ctx, clock, username, limit=5):
    """Locked now (not merely made to wait), read from the staff row."""
    with ctx.db.read() as s:
        m = s.scalars(select(StaffMember).where(StaffMember.username == username)).one()
        return bool(m.locked_until and m.locked_until > clock.now() and m.failed_signins >= limit)


def test_failures_throttle_then_lock(ctx, clock, staff_service, harriet):
    """Each failure delays the next attempt (even the right password waits); the fifth locks the sign-in for
    staff_lock_minutes. Every refusal reads the same."""
    for attempt in range(1, 5):
        with pytest.raises(VerificationFailed, match="not right"):
            staff_service.sign_in("harriet", "wrong password!", "000000")
        with pytest.raises(VerificationFailed, match="paused"):
            staff_service.sign_in("harriet", PASSWORD, code(harriet, clock))
        clock.advance(seconds=2 ** (attempt - 1))
    with pytest.raises(VerificationFailed, match="not right"):
        staff_service.sign_in("harriet", "wrong password!", "000000")
    assert locked(ctx, clock, "harriet")
    clock.advance(minutes=14)
    with pytest.raises(VerificationFailed, match="paused"):
        staff_service.sign_in("harriet", PASSWORD, code(harriet, clock))
    clock.advance(minutes=2)
    assert staff_service.sign_in("harriet", PASSWORD, code(harriet, clock)).username == "harriet"
    actions = audit_actions(ctx)
    assert actions.count("staff.signin_failed") == 4 + 4 + 1 and "staff.locked" in actions  # 4 + 4 waits + 1 lock
    with ctx.db.read() as s:
        assert audit.verify(s).ok


def test_lock_figures_come_from_settings(ctx, clock, staff_service, harriet):
    """staff_signin_failures and staff_lock_minutes are settings, not literals."""
    from console.models.entities import Setting

    with ctx.db.write() as s:
        s.add(Setting(key="staff_signin_failures", value="2", updated_at=clock.now(), updated_by="t"))
        s.add(Setting(key="staff_lock_minutes", value="60", updated_at=clock.now(), updated_by="t"))
    with pytest.raises(VerificationFailed):
        staff_service.sign_in("harriet", "wrong password!", "000000")
    clock.advance(seconds=1)
    with pytest.raises(VerificationFailed):
        staff_service.sign_in("harriet", "wrong password!", "000000")
    assert locked(ctx, clock, "harriet", limit=2)
    clock.advance(minutes=59)
    assert locked(ctx, clock, "harriet", limit=2)
    clock.advance(minutes=2)
    assert not locked(ctx, clock, "harriet", limit=2)


def test_administrator_unlocks(ctx, clock, staff_service, harriet, admin):
    """An administrator can lift a lock at once."""
    for _ in range(5):
        with pytest.raises(VerificationFailed):
            staff_service.sign_in("harriet", "wrong password!", "000000")
        clock.advance(seconds=60)
    staff_service.unlock(admin, "harriet")
    assert staff_service.sign_in("harriet", PASSWORD, code(harriet, clock)).username == "harriet"


def test_only_administrators_manage_staff(ctx, staff_service, harriet, agent, back_office, auditor):
    """Help-desk, back-office and auditors cannot add, unlock or reset staff; nothing changes."""
    before = audit_actions(ctx)
    for actor in (agent, back_office, auditor):
        with pytest.raises(PermissionDenied, match="may not add and change staff accounts"):
            staff_service.add(actor, "eve", "Eve", StaffRole.administrator, PASSWORD)
        with pytest.raises(PermissionDenied):
            staff_service.unlock(actor, "harriet")
        with pytest.raises(PermissionDenied):
            staff_service.reset_second_factor(actor, "harriet")
    assert audit_actions(ctx) == before


def test_bad_staff_input_refused_with_clear_message(staff_service, alex, admin):
    """Malformed usernames, short passwords and duplicates are refused and change nothing."""
    with pytest.raises(InvalidInput, match="not a valid staff username"):
        staff_service.add(admin, "1bad name", "X", StaffRole.auditor, PASSWORD)
    with pytest.raises(InvalidInput, match="at least 12"):
        staff_service.add(admin, "newbie", "New Bie", StaffRole.auditor, "short")
    with pytest.raises(InvalidInput, match="must not contain the username"):
        staff_service.add(admin, "newbie", "New Bie", StaffRole.auditor, "newbie-password-1")
    with pytest.raises(RuleViolation, match="already a staff member called alex"):
        staff_service.add(admin, "alex", "Alex Again", StaffRole.auditor, PASSWORD)
    assert [m.username for m in staff_service.members(admin)] == ["alex"]


def test_reset_second_factor_invalidates_old_codes(ctx, clock, staff_service, harriet, admin):
    """After a reset the old authenticator's codes no longer sign in; the new ones do."""
    new = staff_service.reset_second_factor(admin, "harriet")
    with pytest.raises(VerificationFailed):
        staff_service.sign_in("harriet", PASSWORD, code(harriet, clock))
    clock.advance(seconds=60)
    assert staff_service.sign_in("harriet", PASSWORD, code(new, clock)).role is StaffRole.help_desk


def test_deactivated_staff_cannot_sign_in(ctx, clock, staff_service, harriet, admin):
    """A deactivated account is refused even with the right password and code."""
    staff_service.deactivate(admin, "harriet")
    with pytest.raises(PermissionDenied, match="deactivated"):
        staff_service.sign_in("harriet", PASSWORD, code(harriet, clock))


def test_last_administrator_cannot_be_deactivated(staff_service, alex, admin):
    """The console always keeps someone who can manage staff."""
    with pytest.raises(RuleViolation, match="last active administrator"):
        staff_service.deactivate(admin, "alex")


def test_change_own_password(ctx, clock, staff_service, harriet, admin):
    """Staff change their own password without manage_staff; the old one stops working."""
    actor = staff_service.sign_in("harriet", PASSWORD, code(harriet, clock))
    staff_service.change_password(actor, "harriet", "a brand new passphrase")
    clock.advance(seconds=60)
    with pytest.raises(VerificationFailed):
        staff_service.sign_in("harriet", PASSWORD, code(harriet, clock))
    clock.advance(seconds=60)
    staff_service.sign_in("harriet", "a brand new passphrase", code(harriet, clock))
    with pytest.raises(NotFound):
        staff_service.unlock(admin, "ghost")


def test_demo_database_sign_in_hint_gives_codes_that_work(ctx, clock, staff_service):
    """On a demo database the sign-in hint shows the demo password and each demo member's current code,
    and that code signs in; a newcomer who missed the printed secrets can still get in."""
    import re

    from console.models.demo_staff import DEMO_PASSWORD, create_demo_staff, demo_sign_in_hint

    create_demo_staff(staff_service)
    hint = demo_sign_in_hint(staff_service)
    assert DEMO_PASSWORD in hint
    code_now = re.search(r"helpdesk\s+Help-desk\s+code now (\d{6})", hint).group(1)
    actor = staff_service.sign_in("helpdesk", DEMO_PASSWORD, code_now)
    assert actor.role is StaffRole.help_desk
    clock.advance(seconds=30)
    assert demo_sign_in_hint(staff_service) != hint  # the codes move on with the clock


def test_no_sign_in_hint_on_a_real_database(staff_service, alex):
    """A database whose staff were added by hand never shows codes at sign-in."""
    from console.models.demo_staff import demo_sign_in_hint

    assert demo_sign_in_hint(staff_service) == ""
