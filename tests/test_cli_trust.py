"""The command line for trust: `staff add`, `key rotate`, `audit verify` exit codes, demo staff."""

import re
import sqlite3

import pyotp
import pytest

import console.cli as cli
from console.app import open_context
from console.models.clock import ManualClock
from console.models.keys import FileKeyStore
from console.models.sealing import SecretBox

PASSWORD = "correct horse battery"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A database URL, an owner-only key file, a clock the test moves, and scripted answers to prompts."""
    monkeypatch.setenv("SLS_CONSOLE_KEY_FILE", str(tmp_path / "master.key"))
    monkeypatch.delenv("SLS_CONSOLE_KEY", raising=False)
    clock = ManualClock()
    monkeypatch.setattr(cli, "open_context", lambda url, **kw: open_context(url, clock=clock, **kw))
    answers = []
    monkeypatch.setattr(cli, "ask_secret", lambda prompt: answers.pop(0))

    class Env:
        url = f"sqlite:///{tmp_path / 'trust.sqlite3'}"
        path = tmp_path / "trust.sqlite3"
        key_file = FileKeyStore(tmp_path / "master.key")

        def __init__(self):
            self.clock, self.answers = clock, answers

        def run(self, *argv):
            return cli.main(["--database", self.url, *argv])

        def code(self, secret):
            self.clock.advance(seconds=30)  # a fresh time step: each code is accepted once
            return pyotp.TOTP(secret).at(self.clock.now())

    return Env()


def _secret(out: str) -> str:
    return re.search(r"secret: ([A-Z2-7]+)", out).group(1)


@pytest.fixture
def first_admin(env, capsys):
    env.answers[:] = [PASSWORD, PASSWORD]
    assert env.run("staff", "add", "alex", "--name", "Alex Admin", "--role", "administrator") == 0
    out = capsys.readouterr().out
    assert "otpauth://totp/SLS%20Console:alex" in out
    return _secret(out)


def test_first_staff_member_must_be_an_administrator(env, capsys):
    """On a new database `staff add` creates the first administrator without signing in, and only that."""
    env.answers[:] = [PASSWORD, PASSWORD]
    assert env.run("staff", "add", "harriet", "--name", "Harriet Desk", "--role", "help-desk") == 2
    assert "must be an administrator" in capsys.readouterr().err


def test_later_staff_need_an_administrator_signed_in(env, capsys, first_admin):
    """Once staff exist, `staff add` needs --as ADMIN with a right password and code."""
    assert env.run("staff", "add", "harriet", "--name", "Harriet Desk", "--role", "help-desk") == 2
    assert "--as" in capsys.readouterr().err
    env.answers[:] = [PASSWORD, "000000"]
    assert env.run("staff", "add", "harriet", "--name", "Harriet Desk", "--role", "help-desk", "--as", "alex") == 2
    assert "not right" in capsys.readouterr().err
    env.clock.advance(minutes=2)
    env.answers[:] = [PASSWORD, env.code(first_admin), "desk passphrase 42", "desk passphrase 42"]
    assert env.run("staff", "add", "harriet", "--name", "Harriet Desk", "--role", "help-desk", "--as", "alex") == 0
    assert "Added harriet (Harriet Desk) as Help-desk" in capsys.readouterr().out


def test_mismatched_new_passwords_refused(env, capsys):
    """The new password is asked twice; two different answers change nothing."""
    env.answers[:] = [PASSWORD, PASSWORD + "x"]
    assert env.run("staff", "add", "alex", "--name", "Alex Admin", "--role", "administrator") == 2
    assert "passwords differ" in capsys.readouterr().err


def test_key_rotate_then_everything_still_opens(env, capsys, first_admin):
    """`key rotate --as ADMIN` replaces the key file's key; the console reopens the database with it and the
    audit trail still verifies (it records the rotation)."""
    env.answers[:] = [PASSWORD, env.code(first_admin)]
    assert env.run("demo", "--users", "40", "--seed", "3", "--as", "alex") == 0
    old_key = env.key_file.load()
    capsys.readouterr()
    env.answers[:] = [PASSWORD, env.code(first_admin)]
    assert env.run("key", "rotate", "--as", "alex") == 0
    assert "Master key rotated" in capsys.readouterr().out
    new_key = env.key_file.load()
    assert len(new_key) == 1 and new_key != old_key
    ctx = open_context(env.url)
    assert ctx.box.key_id == SecretBox(new_key[0]).key_id
    assert env.run("audit", "verify") == 0
    assert "Audit trail intact" in capsys.readouterr().out


def test_key_rotate_refused_for_non_administrator(env, capsys, first_admin):
    """A help-desk agent signed in correctly still may not rotate the key: exit 2, key unchanged."""
    env.answers[:] = [PASSWORD, env.code(first_admin), "desk passphrase 42", "desk passphrase 42"]
    env.run("staff", "add", "harriet", "--name", "Harriet Desk", "--role", "help-desk", "--as", "alex")
    harriet = _secret(capsys.readouterr().out)
    before = env.key_file.load()
    env.answers[:] = ["desk passphrase 42", env.code(harriet)]
    assert env.run("key", "rotate", "--as", "harriet") == 2
    assert "may not rotate the master key" in capsys.readouterr().err
    assert env.key_file.load() == before


@pytest.mark.parametrize("sql,entry,word", [
    ("UPDATE audit_entries SET actor = 'nobody' WHERE id = 4", 4, "changed"),
    ("DELETE FROM audit_entries WHERE id = 4", 4, "removed"),
    ("INSERT INTO audit_entries (id, at, actor, action, summary, details, prev_hash, entry_hash) "
     "SELECT (SELECT max(id) + 1 FROM audit_entries), at, actor, action, summary, details, entry_hash, entry_hash "
     "FROM audit_entries WHERE id = (SELECT max(id) FROM audit_entries)", None, "inserted"),
])
def test_audit_verify_exit_codes(env, capsys, sql, entry, word):
    """`audit verify` exits 0 with count and head hash when intact, 1 naming the entry after any SQL edit."""
    env.run("demo", "--users", "30", "--seed", "4")
    capsys.readouterr()
    assert env.run("audit", "verify") == 0
    out = capsys.readouterr().out
    count = int(re.search(r"([\d,]+) entries", out).group(1).replace(",", ""))
    assert re.search(r"head [0-9a-f]{64}", out)
    con = sqlite3.connect(env.path)
    con.execute(sql)
    con.commit()
    con.close()
    assert env.run("audit", "verify") == 1
    err = capsys.readouterr().err
    assert f"entry {entry or count + 1} was {word}" in err


def test_demo_creates_staff_and_says_how_to_sign_in(env, capsys):
    """`demo` adds one staff member per role and prints the password and each TOTP secret."""
    assert env.run("demo", "--users", "20", "--seed", "5") == 0
    out = capsys.readouterr().out
    assert "Demo staff (password for all: demo-password-2026)" in out
    secret = re.search(r"helpdesk\s+Help-desk\s+TOTP secret ([A-Z2-7]+)", out).group(1)
    from console.models.staff import StaffService

    ctx = open_context(env.url, clock=env.clock)
    env.clock.advance(seconds=30)
    actor = StaffService(ctx).sign_in("helpdesk", "demo-password-2026", pyotp.TOTP(secret).at(env.clock.now()))
    assert actor.role.name == "help_desk"


def test_audit_verify_needs_no_key(env, capsys, monkeypatch, tmp_path):
    """An auditor's machine without the master key can still verify the chain."""
    env.run("demo", "--users", "10", "--seed", "6")
    capsys.readouterr()
    monkeypatch.setenv("SLS_CONSOLE_KEY_FILE", str(tmp_path / "elsewhere" / "none.key"))
    assert env.run("audit", "verify") == 0
    assert not (tmp_path / "elsewhere").exists()


def test_audit_verify_on_a_non_console_database(env, capsys, tmp_path):
    """Pointing verify at an empty file says so (exit 2), no traceback."""
    (tmp_path / "empty.sqlite3").touch()
    assert cli.main(["--database", f"sqlite:///{tmp_path / 'empty.sqlite3'}", "audit", "verify"]) == 2
    assert "not an SLS Console database" in capsys.readouterr().err


@pytest.mark.parametrize("content,mode,expected", [
    (b"AAAA", 0o600, "is damaged"),
    (b"\x00\xff" * 30, 0o600, "is damaged"),
    (b"", 0o600, "is empty"),
    (None, 0o644, "chmod 600"),
])
def test_key_file_faults_through_the_real_command_line(tmp_path, content, mode, expected):
    """`sls-console` with a junk, truncated, empty or world-readable key file: exit 2 and one sentence naming
    the file and the fix, no traceback, and the database is left unopened."""
    import base64
    import os
    import subprocess
    import sys
    from pathlib import Path

    key = tmp_path / "master.key"
    key.write_bytes(base64.urlsafe_b64encode(bytes(range(32))) if content is None else content)
    key.chmod(mode)
    env = dict(os.environ, SLS_CONSOLE_KEY_FILE=str(key), SLS_CONSOLE_NO_KEYRING="1")
    env.pop("SLS_CONSOLE_KEY", None)
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "console", "--database", f"sqlite:///{tmp_path / 'd.sqlite3'}",
                           "demo", "--users", "5"], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr and str(key) in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_demo_on_a_database_with_staff_needs_an_administrator(env, capsys, first_admin):
    """Staff of its own: `demo` without --as is refused (exit 2, nothing added); with an administrator's
    sign-in it adds the users; sizes beyond the machine are refused before any password is asked."""
    assert env.run("demo", "--users", "5") == 2
    assert "only a signed-in administrator may add demo data" in capsys.readouterr().err
    assert env.run("demo", "--users", "10000000000") == 2
    err = capsys.readouterr().err
    assert "more than this machine can hold" in err and len(err.strip().splitlines()) == 1
    env.answers[:] = [PASSWORD, env.code(first_admin)]
    assert env.run("demo", "--users", "5", "--seed", "2", "--as", "alex") == 0
    assert "Added" in capsys.readouterr().out


def test_staff_role_changes_a_role_for_an_administrator_only(env, capsys, first_admin):
    """`staff role USERNAME ROLE --as ADMIN` changes the role and says from what to what; a help-desk member may
    not (exit 2, role unchanged); the last administrator keeps the role (exit 2); the trail verifies."""
    env.answers[:] = [PASSWORD, env.code(first_admin), "desk passphrase 42", "desk passphrase 42"]
    assert env.run("staff", "add", "harriet", "--name", "Harriet Desk", "--role", "help-desk", "--as", "alex") == 0
    harriet = _secret(capsys.readouterr().out)
    env.answers[:] = ["desk passphrase 42", env.code(harriet)]
    assert env.run("staff", "role", "harriet", "administrator", "--as", "harriet") == 2
    assert "may not add and change staff accounts" in capsys.readouterr().err
    env.answers[:] = [PASSWORD, env.code(first_admin)]
    assert env.run("staff", "role", "alex", "auditor", "--as", "alex") == 2
    assert "alex is the last active administrator" in capsys.readouterr().err
    env.answers[:] = [PASSWORD, env.code(first_admin)]
    assert env.run("staff", "role", "harriet", "back-office", "--as", "alex") == 0
    assert "harriet (Harriet Desk) is now Back office (was Help-desk)." in capsys.readouterr().out
    assert env.run("audit", "verify") == 0
