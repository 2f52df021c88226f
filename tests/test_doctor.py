"""`sls-console doctor`, run as a person runs it: the real command line in a child process, one line per
check, exit 0 only when nothing failed."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

from console import doctor
from console.models.db import Database
from console.models.keys import FileKeyStore, unlock_box
from console.models.schema import head_revision, upgrade

CHECKS = ("Qt platform plugin", "Display", "Database", "Master key", "OS keyring", "Data directory", "Clock",
          "File permissions")


@pytest.fixture
def env(tmp_path):
    """A desk of its own: key file, data directory and no keyring under tmp_path, Qt offscreen."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLS_", "QT_QPA"))}
    env.update(SLS_CONSOLE_KEY_FILE=str(tmp_path / "master.key"), SLS_CONSOLE_NO_KEYRING="1",
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               QT_QPA_PLATFORM="offscreen")
    return env


def run_doctor(url: str, env: dict[str, str]) -> tuple[int, dict[str, str]]:
    done = subprocess.run([sys.executable, "-m", "console", "--database", url, "doctor"], env=env,
                          capture_output=True, text=True, timeout=120)
    lines = done.stdout.splitlines()
    assert len(lines) == len(CHECKS), done.stdout + done.stderr
    by_name = {}
    for line, name in zip(lines, CHECKS, strict=True):
        assert line[7:].startswith(name), line
        by_name[name] = line
    return done.returncode, by_name


def _sealed_database(url: str, key_file) -> None:
    db = Database(url)
    upgrade(db)
    unlock_box(db, FileKeyStore(key_file))  # records which key seals this database
    db.dispose()


def test_everything_in_place_passes(db, env, tmp_path):
    """A migrated database whose key is at hand: every line ok (or a note), exit 0."""
    unlock_box(db, FileKeyStore(tmp_path / "master.key"))
    code, lines = run_doctor(db.url, env)
    assert code == 0, lines
    assert all(line.startswith(("[ ok ]", "[note]")) for line in lines.values()), lines
    assert head_revision() in lines["Database"]
    assert "opens a sealed value" in lines["Master key"]
    assert "SLS_CONSOLE_NO_KEYRING" in lines["OS keyring"]


def test_missing_database_fails_with_the_command_that_creates_it(env, tmp_path):
    code, lines = run_doctor(f"sqlite:///{tmp_path / 'nowhere.sqlite3'}", env)
    assert code == 1
    assert lines["Database"].startswith("[FAIL]") and "sls-console upgrade" in lines["Database"]


def test_database_behind_the_console_fails(env, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    old = Database(url)
    upgrade(old, "0001")
    old.dispose()
    code, lines = run_doctor(url, env)
    assert code == 1
    assert "is at migration 0001" in lines["Database"] and "sls-console upgrade" in lines["Database"]


def test_wrong_master_key_fails(env, tmp_path):
    """The database was sealed with one key; the desk holds another: the key line fails and says so."""
    url = f"sqlite:///{tmp_path / 'sealed.sqlite3'}"
    _sealed_database(url, tmp_path / "other.key")
    (tmp_path / "master.key").write_text(base64.urlsafe_b64encode(bytes(range(32))).decode())
    (tmp_path / "master.key").chmod(0o600)
    code, lines = run_doctor(url, env)
    assert code == 1
    assert lines["Master key"].startswith("[FAIL]") and "does not open" in lines["Master key"]


def test_no_display_for_a_real_window_fails(env, tmp_path):
    url = f"sqlite:///{tmp_path / 'ok.sqlite3'}"
    _sealed_database(url, tmp_path / "master.key")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env["QT_QPA_PLATFORM"] = "xcb"
    code, lines = run_doctor(url, env)
    assert code == 1
    assert lines["Display"].startswith("[FAIL]") and "DISPLAY is not set" in lines["Display"]


def test_unwritable_data_directory_fails(env, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    url = f"sqlite:///{tmp_path / 'ok.sqlite3'}"
    _sealed_database(url, tmp_path / "master.key")
    locked = tmp_path / "data"
    locked.mkdir()
    locked.chmod(0o500)
    code, lines = run_doctor(url, env)
    assert code == 1 and lines["Data directory"].startswith("[FAIL]")


def test_missing_system_libraries_are_named_with_their_packages(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(doctor, "missing_libraries", lambda paths: ["libxcb-cursor.so.0", "libEGL.so.1"])
    check = doctor.check_qt_plugin()
    assert check.status is doctor.Status.fail
    assert "apt-get install libegl1 libxcb-cursor0" in check.line()


def test_clock_off_by_more_than_the_code_window_fails(db, monkeypatch):
    monkeypatch.setattr(doctor, "server_clock_offset", lambda _db: 95.0)
    check = doctor.check_clock(db, True, {})
    assert check.status is doctor.Status.fail
    assert "95 s behind" in check.detail and "timedatectl" in check.fix


def test_clock_in_step_passes(db, monkeypatch):
    monkeypatch.setattr(doctor, "server_clock_offset", lambda _db: 0.4)
    check = doctor.check_clock(db, True, {})
    assert check.status in (doctor.Status.ok, doctor.Status.note)
    assert "within 0.4 s" in check.detail


def test_key_file_others_can_read_fails_with_the_chmod_that_fixes_it(tmp_path, env):
    """A key file with mode 0644: the key line fails, naming the file and `chmod 600 PATH`, once."""
    key = tmp_path / "master.key"
    key.write_text(base64.urlsafe_b64encode(bytes(range(32))).decode())
    key.chmod(0o644)
    code, lines = run_doctor(f"sqlite:///{tmp_path / 'd.sqlite3'}", env)
    assert code == 1 and lines["Master key"].startswith("[FAIL]")
    assert lines["Master key"].count(f"chmod 600 {key}") == 1 and "Fix:" not in lines["Master key"]
