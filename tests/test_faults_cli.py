"""Every fault outside the console's rules, through the real command line: one sentence saying what happened
and what to do, exit code 2, no traceback; the log keeps the detail."""

import os
import resource
import socket
import sqlite3
import subprocess
import sys

import pytest

from console.models.db import Database
from console.models.schema import upgrade


def run_cli(tmp_path, *argv, limit_file_bytes=None):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLS_CONSOLE", "XDG_"))}
    env.update(HOME=str(home), SLS_CONSOLE_NO_KEYRING="1", QT_QPA_PLATFORM="offscreen")

    def limit():
        if limit_file_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))
    return subprocess.run([sys.executable, "-m", "console", *argv], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120, preexec_fn=limit)


def assert_one_sentence(done, *words):
    """Exit 2, no traceback, one line on stderr: the sentence, then where the log is."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "Error:" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def logged(tmp_path):
    log = next((tmp_path / "home").rglob("sls-console.log"))
    return log.read_text()


@pytest.fixture
def migrated(tmp_path):
    path = tmp_path / "console.sqlite3"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


def test_corrupted_database_file(tmp_path):
    """A file that is not a database: says it is damaged and to restore it; the traceback is in the log."""
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(os.urandom(8192))
    line = assert_one_sentence(run_cli(tmp_path, "--database", f"sqlite:///{path}", "demo", "--users", "5"),
                               str(path), "damaged", "restore it from your latest backup", "Details are in the log")
    assert "Traceback" in logged(tmp_path) and line.endswith("sls-console.log.")


def test_read_only_database_file(tmp_path, migrated):
    """A file this user may not write: says so and what to do, before anything is half-written."""
    if os.geteuid() == 0:  # root writes through file modes: make the file immutable instead
        if subprocess.run(["chattr", "+i", str(migrated)], capture_output=True).returncode != 0:
            pytest.skip("cannot make a file read-only for root here (no chattr)")
    else:
        migrated.chmod(0o444)
    try:
        done = run_cli(tmp_path, "--database", f"sqlite:///{migrated}", "demo", "--users", "5")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(migrated)], check=True)
    assert_one_sentence(done, str(migrated), "read-only", "write permission")


def test_newer_schema_revision(tmp_path, migrated):
    """A database a newer console upgraded is refused untouched, naming both revisions."""
    with sqlite3.connect(migrated) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    assert_one_sentence(run_cli(tmp_path, "--database", f"sqlite:///{migrated}", "upgrade"),
                        "revision 9999", "newer SLS Console", "Install")
    with sqlite3.connect(migrated) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("9999",)


def test_postgresql_server_down(tmp_path):
    """No server listening at the URL's port: says the server cannot be reached and to start it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    assert_one_sentence(run_cli(tmp_path, "--database", f"postgresql+psycopg://desk:secret@127.0.0.1:{port}/sls",
                                "upgrade"), "Cannot reach the database server", "Start it")


@pytest.mark.parametrize("url", ["nonsense", "foo://bar/baz", "postgresql+nodriver://u:hunter2@h/db"])
def test_bad_database_url(tmp_path, url):
    """A URL that does not parse or names no known driver: the forms that work, and never the password."""
    line = assert_one_sentence(run_cli(tmp_path, "--database", url, "upgrade"), "is not a database URL",
                               "sqlite:///")
    assert "hunter2" not in line


def test_missing_folder_of_a_database_file(tmp_path):
    """A SQLite path whose folder does not exist."""
    assert_one_sentence(run_cli(tmp_path, "--database", f"sqlite:///{tmp_path / 'nowhere' / 'x.sqlite3'}",
                                "upgrade"), "cannot be opened", "folder")


def test_full_disk(tmp_path, migrated):
    """The database cannot grow (a file-size limit stands in for a full disk): the write is refused with a
    sentence about the disk, not a traceback."""
    size = migrated.stat().st_size
    done = run_cli(tmp_path, "--database", f"sqlite:///{migrated}", "demo", "--users", "3000",
                   limit_file_bytes=size + 64 * 1024)
    assert_one_sentence(done, "disk")


def test_missing_or_unreadable_import_file(tmp_path, migrated):
    """Told before any password is asked for; nothing imported."""
    url = f"sqlite:///{migrated}"
    assert_one_sentence(run_cli(tmp_path, "--database", url, "import", str(tmp_path / "none.csv"), "--as", "x"),
                        "There is no file", "none.csv")
    assert_one_sentence(run_cli(tmp_path, "--database", url, "import", str(tmp_path), "--as", "x"),
                        "is a folder")


def test_export_to_a_missing_folder(tmp_path, migrated):
    assert_one_sentence(run_cli(tmp_path, "--database", f"sqlite:///{migrated}", "export", "users",
                                str(tmp_path / "gone" / "users.csv"), "--as", "x"), "There is no folder")


def test_password_input_that_ends(tmp_path, migrated):
    """`--as` with no terminal and nothing on standard input: says how to give the password."""
    csv = tmp_path / "in.csv"
    csv.write_text("account,username\n")
    done = run_cli(tmp_path, "--database", f"sqlite:///{migrated}", "import", str(csv), "--as", "alex")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "input ended" in done.stderr


# ----- audit verify: intact 0, tampered 1, unreadable 2 ---------------------------------------------------------
def _demo_database(tmp_path):
    path = tmp_path / "demo.sqlite3"
    done = run_cli(tmp_path, "--database", f"sqlite:///{path}", "demo", "--users", "50", "--seed", "3")
    assert done.returncode == 0, done.stderr
    return path


def _damage_an_index(path):
    """Overwrite the cells at the end of one index page the audit trail never reads: the chain itself reads fine
    (the code before the integrity check called this file intact), SQLite's integrity check reports it."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_users_account_id'").fetchone()[0]
    with open(path, "r+b") as f:
        f.seek(root * page_size - 60)
        f.write(b"A" * 40)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0] > 0  # still readable


def test_audit_verify_refuses_a_file_integrity_check_finds_malformed(tmp_path):
    """Never "intact" on a file SQLite's integrity check reports malformed: exit 2, "damaged", not 1."""
    path = _demo_database(tmp_path)
    _damage_an_index(path)
    done = run_cli(tmp_path, "--database", f"sqlite:///{path}", "audit", "verify")
    assert "intact" not in done.stdout
    assert_one_sentence(done, "damaged", "integrity check", "cannot be verified")


def test_audit_verify_unreadable_entry_is_not_called_tampered(tmp_path):
    """An entry the console cannot even read (its time is not a time) is "unreadable" (2), not "tampered" (1)."""
    path = _demo_database(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE audit_entries SET at = 'not a time' WHERE id = 3")
    done = run_cli(tmp_path, "--database", f"sqlite:///{path}", "audit", "verify")
    assert_one_sentence(done, "cannot be read")


def test_audit_verify_tampered_is_still_1(tmp_path):
    """A readable entry whose contents changed is tampering: exit 1, naming it."""
    path = _demo_database(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE audit_entries SET summary = 'nothing happened' WHERE id = 3")
    done = run_cli(tmp_path, "--database", f"sqlite:///{path}", "audit", "verify")
    assert done.returncode == 1 and "entry 3 was changed" in done.stderr and "Traceback" not in done.stderr


def test_audit_verify_on_a_missing_file_creates_nothing(tmp_path):
    path = tmp_path / "typo.sqlite3"
    assert_one_sentence(run_cli(tmp_path, "--database", f"sqlite:///{path}", "audit", "verify"), "no database file")
    assert not path.exists()


