"""Staff rows under the audit trail's tamper evidence: every change the console makes is recorded with the
row's state; a role, active flag, second factor or lock changed directly in the database is named by
`audit verify` (exit 1), through the real command line too."""

from __future__ import annotations

import subprocess
import sys

import pyotp
import pytest
from sqlalchemy import text

from console.models import audit
from console.models.db import Database
from console.models.enums import StaffRole
from console.models.errors import ConsoleError
from console.models.key_rotation import KeyRotation
from console.models.keys import FileKeyStore
from console.models.schema import upgrade
from console.models.sealing import SecretBox

PASSWORD = "correct horse battery"


def _verify(ctx) -> audit.VerifyResult:
    with ctx.db.read() as s:
        return audit.verify(s)


def _sql(ctx, statement: str, **params) -> None:
    """A change made with the desks' database credentials, outside the console."""
    with ctx.db.engine.begin() as conn:
        conn.execute(text(statement), params)


@pytest.fixture
def staffed(ctx, staff_service, clock):
    """An administrator (alex) who adds a help-desk member (hana); both sign in once."""
    alex = staff_service.add_first_administrator("alex", "Alex Admin", PASSWORD)
    clock.advance(seconds=30)
    admin = staff_service.sign_in("alex", PASSWORD, pyotp.TOTP(alex.totp_secret).at(clock.now()))
    hana = staff_service.add(admin, "hana", "Hana Desk", StaffRole.help_desk, PASSWORD)
    clock.advance(seconds=30)
    staff_service.sign_in("hana", PASSWORD, pyotp.TOTP(hana.totp_secret).at(clock.now()))
    return admin


def test_every_change_through_the_console_keeps_the_trail_intact(ctx, staff_service, staffed, clock):
    """Failures, a lock, an unlock, a second-factor reset and a deactivation: verify stays intact."""
    for _ in range(5):
        clock.advance(seconds=61)
        with pytest.raises(ConsoleError):
            staff_service.sign_in("hana", "wrong password 123", "000000")
    assert _verify(ctx).ok
    staff_service.unlock(staffed, "hana")
    staff_service.reset_second_factor(staffed, "hana")
    staff_service.deactivate(staffed, "hana")
    assert _verify(ctx).ok


@pytest.mark.parametrize("statement", [
    "UPDATE staff SET role = 'administrator' WHERE username = 'hana'",
    "UPDATE staff SET active = NOT active WHERE username = 'hana'",
    "UPDATE staff SET failed_signins = 0, locked_until = NULL, password_hash = 'x' WHERE username = 'hana'",
    "UPDATE staff SET sealed_totp_secret = NULL WHERE username = 'hana'",
])
def test_a_staff_row_changed_in_the_database_is_named(ctx, staffed, statement):
    assert _verify(ctx).ok
    _sql(ctx, statement)
    result = _verify(ctx)
    assert not result.ok and result.staff_member == "hana"
    assert "staff member hana was changed outside the console" in result.problem


def test_a_staff_row_added_in_the_database_is_named(ctx, staffed):
    _sql(ctx, "INSERT INTO staff (username, full_name, role, password_hash, failed_signins, active, created_at, "
              "version) VALUES ('mallory', 'M', 'administrator', 'x', 0, true, :at, 1)", at=ctx.clock.now())
    result = _verify(ctx)
    assert not result.ok and "staff member mallory is not in the audit trail" in result.problem


def test_key_rotation_records_the_resealed_staff_secrets(ctx, staffed, tmp_path):
    """Rotation re-seals staff secrets outside the ORM; its entry records their new states."""
    store = FileKeyStore(tmp_path / "master.key")
    store._write(store.path, [bytes(range(32))])  # a ring: one key a line
    KeyRotation(ctx).rotate(staffed, store)
    assert _verify(ctx).ok


def test_an_upgraded_database_records_its_staff_once(tmp_path):
    """A database from before staff rows were covered gets one entry recording them, then verifies."""
    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(db, "0007")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO staff (username, full_name, role, password_hash, failed_signins, active, "
                          "created_at, version) VALUES ('olga', 'Olga Old', 'administrator', 'x', 0, 1, "
                          "'2026-01-01 00:00:00', 1)"))
    upgrade(db)
    with db.read() as s:
        result = audit.verify(s)
        assert result.ok and result.count == 1
    upgrade(db)  # once only
    with db.read() as s:
        assert audit.verify(s).count == 1
    db.dispose()


def test_audit_verify_on_the_command_line_names_the_member(tmp_path):
    """`sls-console audit verify` exits 0, then 1 naming the member whose role was raised in the database."""
    from argon2 import PasswordHasher

    from console.models.clock import ManualClock
    from console.models.context import ServiceContext
    from console.models.staff import StaffService

    url = f"sqlite:///{tmp_path / 'desk.sqlite3'}"
    db = Database(url)
    upgrade(db)
    service = StaffService(ServiceContext(db, SecretBox(bytes(range(32))), ManualClock()),
                           hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    service.add_first_administrator("alex", "Alex Admin", PASSWORD)
    db.dispose()

    def verify() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "console", "--database", url, "audit", "verify"],
                              capture_output=True, text=True, timeout=120)

    assert verify().returncode == 0
    with Database(url).engine.begin() as conn:
        conn.execute(text("UPDATE staff SET role = 'auditor' WHERE username = 'alex'"))
    done = verify()
    assert done.returncode == 1
    assert "staff member alex was changed outside the console" in done.stderr
    assert "Traceback" not in done.stderr
