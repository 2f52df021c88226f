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
    assert env.run("demo", "--users", "40", "--seed", "3") == 0
    old_key = env.key_file.load()
    capsys.readouterr()
    env.answers[:] = [PASSWORD, env.code(first_admin)]
    assert env.run("key", "rotate", "--as", "alex") == 0
    assert "Master key rotated" in capsys.readouterr().out
    new_key = env.key_file.load()
    assert new_key != old_key and env.key_file.load_pending() is None
    ctx = open_context(env.url)
    assert ctx.box.key_id == SecretBox(new_key).key_id
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
