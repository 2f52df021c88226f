"""Sign-in that leaks nothing: one message and one cost whether the username exists, the password is wrong or
the sign-in is paused; locks announced in the audit trail; a firm-wide limit on failures; and nobody can lock
every administrator out."""

import pyotp
import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import select

from console.models.entities import AuditEntry, Setting, StaffMember
from console.models.enums import StaffRole
from console.models.errors import VerificationFailed
from console.models.staff import FIRM_PAUSED, WRONG_CREDENTIALS, StaffService

PASSWORD = "correct horse battery"
WRONG = "wrong password!"


def code(enrollment, clock):
    return pyotp.TOTP(enrollment.totp_secret).at(clock.now().timestamp())


class CountingHasher(PasswordHasher):
    """Argon2id at the smallest cost that records every Argon2 computation with the parameters it ran at."""

    def __init__(self):
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.computations: list[tuple[int, int, int]] = []

    def _params(self):
        return (self.time_cost, self.memory_cost, self.parallelism)

    def hash(self, password, *, salt=None):
        self.computations.append(self._params())
        return super().hash(password, salt=salt)

    def verify(self, hash, password):  # noqa: A002 - argon2-cffi's own parameter name
        p = extract_parameters(hash)
        self.computations.append((p.time_cost, p.memory_cost, p.parallelism))
        return super().verify(hash, password)


@pytest.fixture
def hasher():
    return CountingHasher()


@pytest.fixture
def service(ctx, hasher):
    return StaffService(ctx, hasher=hasher)


@pytest.fixture
def alex(service):
    return service.add_first_administrator("alex", "Alex Admin", PASSWORD)


@pytest.fixture
def harriet(ctx, service, alex, clock):
    admin = service.sign_in("alex", PASSWORD, code(alex, clock))
    clock.advance(seconds=30)
    return service.add(admin, "harriet", "Harriet Desk", StaffRole.help_desk, PASSWORD)


def refusal(service, username, password, totp):
    with pytest.raises(VerificationFailed) as refused:
        service.sign_in(username, password, totp)
    return str(refused.value)


def lock(service, clock, username, failures=5):
    for _ in range(failures):
        clock.advance(seconds=61)  # past any wait, so each failure counts
        refusal(service, username, WRONG, "000000")


def set_figure(ctx, clock, key, value):
    with ctx.db.write() as s:
        s.add(Setting(key=key, value=str(value), updated_at=clock.now(), updated_by="test"))


def actions(ctx):
    with ctx.db.read() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_unknown_user_wrong_password_wait_and_lock_read_the_same(ctx, clock, service, harriet):
    """Whatever the reason (no such user, wrong password, wrong code, a wait after a failure, a lock), the
    refusal is one sentence, word for word the same, and names nobody."""
    right_code = code(harriet, clock)
    messages = {
        "unknown user": refusal(service, "nobody", PASSWORD, right_code),
        "unknown, malformed": refusal(service, "x y", PASSWORD, right_code),
        "wrong password": refusal(service, "harriet", WRONG, right_code),
        "right password while waiting": refusal(service, "harriet", PASSWORD, right_code),
    }
    clock.advance(seconds=61)
    messages["wrong code"] = refusal(service, "harriet", PASSWORD, "123456")
    lock(service, clock, "harriet", failures=3)
    messages["right password, locked"] = refusal(service, "harriet", PASSWORD, code(harriet, clock))
    assert set(messages.values()) == {WRONG_CREDENTIALS}, messages
    assert "harriet" not in WRONG_CREDENTIALS


def test_unknown_user_wrong_password_and_lock_cost_the_same_argon2_work(ctx, clock, hasher, harriet):
    """The cost an outsider can time is the Argon2 work: exactly one verification, at the parameters real
    hashes use, for an unknown username, a wrong password and a locked account alike, and from the first
    attempt a fresh console makes (a command-line run builds a new service each time)."""
    lock(StaffService(ctx, hasher=hasher), clock, "harriet")
    work = {}
    for case, username, password in (("unknown", "nobody", PASSWORD), ("malformed", "x y", PASSWORD),
                                     ("wrong password", "alex", WRONG), ("locked", "harriet", PASSWORD)):
        hasher.computations.clear()
        refusal(StaffService(ctx, hasher=hasher), username, password, code(harriet, clock))
        work[case] = list(hasher.computations)
        clock.advance(seconds=61)
    one_verification = [(hasher.time_cost, hasher.memory_cost, hasher.parallelism)]
    assert work == {case: one_verification for case in work}


def test_each_refusal_writes_one_audit_entry(ctx, clock, service, harriet):
    """The database work matches too: one audit entry per refused attempt, known or unknown username; the
    name typed for an unknown one is not kept (people type passwords into the username field)."""
    before = len(actions(ctx))
    refusal(service, "my secret passphrase", PASSWORD, "000000")
    refusal(service, "harriet", WRONG, "000000")
    refusal(service, "harriet", PASSWORD, code(harriet, clock))  # while waiting
    assert actions(ctx)[before:] == ["staff.signin_failed"] * 3
    with ctx.db.read() as s:
        summaries = " ".join(s.scalars(select(AuditEntry.summary)))
        details = " ".join(s.scalars(select(AuditEntry.details)))
    assert "my secret passphrase" not in summaries + details


def test_a_lock_is_announced_to_administrators_in_the_audit_trail(ctx, clock, service, harriet, admin):
    """The lock is an audit entry an administrator reads in the audit window: who, how long, what to do."""
    from console.models.audit_log import AuditFilter, AuditLog

    lock(service, clock, "harriet")
    rows = AuditLog(ctx).window(admin, AuditFilter(action="staff.locked"))
    assert len(rows) == 1
    summary = rows[0].summary
    assert "harriet" in summary and "locked for 15 minutes" in summary and "unlock" in summary


def test_a_firm_wide_limit_pauses_every_sign_in(ctx, clock, service, harriet):
    """More failed sign-ins per minute than the firm-wide setting, over any usernames, pause every sign-in
    (right credentials too) for the rest of the minute; the pause is announced once; nothing is counted
    against a member meanwhile; a minute later sign-in works again."""
    set_figure(ctx, clock, "staff_signin_failures_per_minute", 4)
    for name in ("nobody", "harriet", "alex", "ghost"):
        assert refusal(service, name, WRONG, "000000") == WRONG_CREDENTIALS
        clock.advance(seconds=5)
    with ctx.db.read() as s:
        counted = {m.username: m.failed_signins for m in s.scalars(select(StaffMember))}
    assert refusal(service, "harriet", PASSWORD, code(harriet, clock)) == FIRM_PAUSED
    assert refusal(service, "nobody", PASSWORD, "000000") == FIRM_PAUSED
    assert actions(ctx).count("staff.signin_paused") == 1
    with ctx.db.read() as s:
        assert {m.username: m.failed_signins for m in s.scalars(select(StaffMember))} == counted
    clock.advance(seconds=61)
    assert service.sign_in("harriet", PASSWORD, code(harriet, clock)).username == "harriet"


def test_the_last_administrator_who_can_sign_in_is_never_locked(ctx, clock, service, alex, harriet):
    """Scripted failures lock one administrator, but not the last one who can still sign in: that one is only
    made to wait a minute, the attempt is announced (staff.lock_withheld), and their open session goes on."""
    admin = service.sign_in("alex", PASSWORD, code(alex, clock))
    clock.advance(seconds=30)
    bea = service.add(admin, "bea", "Bea Admin", StaffRole.administrator, PASSWORD)
    lock(service, clock, "bea")
    lock(service, clock, "alex")
    with ctx.db.read() as s:
        rows = {m.username: (m.locked_until, m.failed_signins) for m in s.scalars(select(StaffMember))}
    assert rows["bea"][0] > clock.now() and rows["bea"][1] == 5
    assert rows["alex"][1] < 5
    assert "staff.lock_withheld" in actions(ctx)
    assert service.members(admin)  # alex's open session still works
    clock.advance(seconds=61)
    assert service.sign_in("alex", PASSWORD, code(alex, clock)).username == "alex"
    assert bea.username == "bea"


def test_a_helpdesk_member_is_still_locked_when_only_one_administrator_is_free(ctx, clock, service, harriet):
    """The exception is for the last free administrator only: other staff are locked as before."""
    lock(service, clock, "harriet")
    with ctx.db.read() as s:
        member = s.scalars(select(StaffMember).where(StaffMember.username == "harriet")).one()
        assert member.failed_signins == 5 and member.locked_until > clock.now()


def test_a_desk_without_the_key_tells_the_key_fault_and_counts_nothing(ctx, clock, hasher, harriet):
    """Harriet's second factor is sealed with a master key this desk does not hold (a rotation elsewhere, a
    wrong key file): with her right password and code she is told the key fault, not "sign-in failed", and
    nothing is counted against her."""
    from console.models.context import ServiceContext
    from console.models.sealing import SealingError, SecretBox

    before = actions(ctx)
    other_desk = StaffService(ServiceContext(ctx.db, SecretBox(bytes(range(1, 33))), clock), hasher=hasher)
    clock.advance(seconds=30)
    for _ in range(6):  # more than the lock's count: none of them counts
        with pytest.raises(SealingError, match="does not hold") as fault:
            other_desk.sign_in("harriet", PASSWORD, code(harriet, clock))
        assert WRONG_CREDENTIALS not in str(fault.value) and "Nothing was counted against harriet" in str(fault.value)
    with ctx.db.read() as s:
        member = s.scalars(select(StaffMember).where(StaffMember.username == "harriet")).one()
        assert member.failed_signins == 0 and member.locked_until is None
    assert actions(ctx) == before
    StaffService(ctx, hasher=hasher).sign_in("harriet", PASSWORD, code(harriet, clock))  # her own desk still works
