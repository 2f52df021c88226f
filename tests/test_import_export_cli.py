"""`sls-console import FILE [--dry-run]` and `sls-console export KIND FILE`."""

from __future__ import annotations

import csv
import sqlite3

import pyotp
import pytest

import console.cli as cli
from console.app import open_context
from console.models.clock import ManualClock
from console.models.enums import StaffRole
from console.models.staff import StaffService
from tests.test_importing import MARIA, SAMPLE, write_csv

PASSWORD = "correct horse battery"


@pytest.fixture
def url(tmp_path, monkeypatch):
    """A database with an administrator and a back-office member; each command signs in as `boff01`."""
    monkeypatch.setenv("SLS_CONSOLE_KEY_FILE", str(tmp_path / "master.key"))
    monkeypatch.delenv("SLS_CONSOLE_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    clock = ManualClock()
    monkeypatch.setattr(cli, "open_context", lambda u, **kw: open_context(u, clock=clock, **kw))
    staff = StaffService(open_context(url, clock=clock))
    admin = staff.add_first_administrator("alex", "Alex Admin", PASSWORD)
    admin_actor = staff.sign_in("alex", PASSWORD, pyotp.TOTP(admin.totp_secret).at(clock.now()))
    secrets = {"boff01": staff.add(admin_actor, "boff01", "Bob Office", StaffRole.back_office, PASSWORD).totp_secret,
               "hdesk01": staff.add(admin_actor, "hdesk01", "Harriet Desk", StaffRole.help_desk,
                                    PASSWORD).totp_secret}
    answers: list[str] = []

    def ask_secret(prompt: str) -> str:
        if not answers:  # password, then a fresh code (each code is accepted once)
            user = prompt.strip().rstrip(":").rsplit(" ", 1)[-1]
            clock.advance(seconds=30)
            answers.extend([PASSWORD, pyotp.TOTP(secrets[user]).at(clock.now())])
        return answers.pop(0)

    monkeypatch.setattr(cli, "ask_secret", ask_secret)
    return url


def main(argv: list[str]) -> int:
    as_user = "boff01"
    if "--as-agent" in argv:
        argv.remove("--as-agent")
        as_user = "hdesk01"
    return cli.main([*argv, "--as", as_user])


def users_in(tmp_path) -> int:
    con = sqlite3.connect(tmp_path / "cli.sqlite3")
    try:
        return con.execute("SELECT count(*) FROM users").fetchone()[0]
    finally:
        con.close()


def test_dry_run_writes_nothing_then_import_writes_with_a_progress_bar(url, tmp_path, capsys):
    """--dry-run prints the preview and writes nothing; the real run imports and draws a progress bar."""
    assert main(["--database", url, "import", str(SAMPLE), "--dry-run"]) == 0
    out = capsys.readouterr()
    assert "Users: 6 to create" in out.out and "Dry run" in out.out
    assert users_in(tmp_path) == 0
    assert main(["--database", url, "import", str(SAMPLE)]) == 0
    out = capsys.readouterr()
    assert "6 users created" in out.out
    assert "Writing" in out.err and "#" in out.err
    assert users_in(tmp_path) == 6


def test_bad_file_exits_1_naming_line_field_and_reason(url, tmp_path, capsys):
    """A file with one bad row exits 1, prints the row's line, column and reason, and imports nothing."""
    path = write_csv(tmp_path / "bad.csv", [MARIA, {**MARIA, "username": "MROSS002", "role": "secondary"}])
    assert main(["--database", url, "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv: line 3, username: 'MROSS002' is not a username" in err
    assert "Nothing was imported" in err
    assert users_in(tmp_path) == 0


def test_export_users_to_csv(url, tmp_path, capsys):
    """`export users FILE` writes every user."""
    main(["--database", url, "import", str(SAMPLE)])
    capsys.readouterr()
    assert main(["--database", url, "export", "users", str(tmp_path / "out.csv")]) == 0
    assert "Exported 6 users" in capsys.readouterr().out
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 6


def test_help_desk_agent_may_not_import(url, tmp_path, capsys):
    """Signed in as a help-desk agent, the import is refused before the file is read (exit 2)."""
    assert main(["--database", url, "import", str(SAMPLE), "--as-agent"]) == 2
    assert "may not import accounts and users" in capsys.readouterr().err
    assert users_in(tmp_path) == 0


def test_account_close_needs_the_permission_then_closes(url, tmp_path, capsys):
    """`sls-console account close` is refused to the help desk (exit 2, nothing changes) and closes for back
    office, printing what was done; closing twice is refused."""
    assert main(["--database", url, "import", str(write_csv(tmp_path / "maria.csv", [MARIA]))]) == 0
    assert main(["--database", url, "account", "close", "U2345678", "--as-agent"]) == 2
    assert "may not close accounts" in capsys.readouterr().err
    assert main(["--database", url, "account", "close", "u2345678"]) == 0
    assert "Closed U2345678: 1 user(s) closed" in capsys.readouterr().out
    assert main(["--database", url, "account", "close", "U2345678"]) == 2
    assert "already closed" in capsys.readouterr().err
