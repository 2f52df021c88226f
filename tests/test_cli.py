"""The command line: demo data, schema upgrade and audit verification on a database given by URL."""

import sqlite3

import pytest

from console.cli import main


@pytest.fixture
def url(tmp_path, monkeypatch):
    monkeypatch.setenv("SLS_CONSOLE_KEY_FILE", str(tmp_path / "master.key"))
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def test_demo_then_verify(url, capsys):
    """`demo --users N` fills the database; `audit verify` then reports the chain intact with its count."""
    assert main(["--database", url, "demo", "--users", "300", "--seed", "1"]) == 0
    assert "users in" in capsys.readouterr().out
    assert main(["--database", url, "audit", "verify"]) == 0
    assert "Audit trail intact" in capsys.readouterr().out


def test_verify_names_changed_entry(url, tmp_path, capsys):
    """Editing an audit row behind the console's back makes verify fail and name the entry."""
    main(["--database", url, "demo", "--users", "50", "--seed", "2"])
    con = sqlite3.connect(tmp_path / "cli.sqlite3")
    con.execute("UPDATE audit_entries SET summary = 'nothing to see' WHERE id = 7")
    con.commit()
    con.close()
    capsys.readouterr()
    assert main(["--database", url, "audit", "verify"]) == 1
    assert "entry 7 was changed" in capsys.readouterr().err


def test_environment_variable_names_the_database(url, monkeypatch, capsys):
    """SLS_CONSOLE_DATABASE_URL is used when --database is not given."""
    monkeypatch.setenv("SLS_CONSOLE_DATABASE_URL", url)
    assert main(["upgrade"]) == 0
    assert "cli.sqlite3 is at schema revision" in capsys.readouterr().out


def test_bad_user_count_refused(url, capsys):
    """A demo size below one is refused with a message."""
    assert main(["--database", url, "demo", "--users", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
