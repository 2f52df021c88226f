"""`sls-console import FILE [--dry-run]` and `sls-console export KIND FILE`."""

from __future__ import annotations

import csv
import sqlite3

import pytest

from console.cli import main
from tests.test_importing import MARIA, SAMPLE, write_csv


@pytest.fixture
def url(tmp_path, monkeypatch):
    monkeypatch.setenv("SLS_CONSOLE_KEY_FILE", str(tmp_path / "master.key"))
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


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
