"""Files holding client data stay their owner's: `doctor` and every start warn about a database file, its
-wal/-shm or the data folder that others may read, naming the `chmod` that fixes it; the log file is created
owner-only (0600, its folder 0700), and an older, wider one is narrowed."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from console import logs
from console.models.db import Database
from console.models.schema import upgrade

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX's")


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLS_", "QT_QPA", "XDG_"))}
    env.update(SLS_CONSOLE_KEY_FILE=str(tmp_path / "master.key"), SLS_CONSOLE_NO_KEYRING="1",
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               QT_QPA_PLATFORM="offscreen")
    return env


def console(env, *argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "console", *argv], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def shared_database(tmp_path) -> Path:
    """A migrated database whose file, WAL and shared-memory index someone made readable by everyone."""
    path = tmp_path / "desk.sqlite3"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.touch()
        p.chmod(0o644)
    return path


def test_doctor_names_each_readable_file_and_its_chmod(env, shared_database):
    done = console(env, "--database", f"sqlite:///{shared_database}", "doctor")
    line = next(x for x in done.stdout.splitlines() if "File permissions" in x)
    for p in (shared_database, f"{shared_database}-wal", f"{shared_database}-shm"):
        assert f"run `chmod 600 {p}`" in line
    assert "(mode 0644)" in line and line.startswith("[note]")


def test_doctor_is_quiet_about_owner_only_files(env, shared_database):
    for p in (shared_database, Path(f"{shared_database}-wal"), Path(f"{shared_database}-shm")):
        p.chmod(0o600)
    done = console(env, "--database", f"sqlite:///{shared_database}", "doctor")
    line = next(x for x in done.stdout.splitlines() if "File permissions" in x)
    assert line.startswith("[ ok ]") and "chmod" not in line


def test_start_up_warns_about_a_readable_database(env, shared_database, tmp_path):
    """In the log always; on the terminal only when a person watches it (a script gets the command's lines)."""
    done = console(env, "--database", f"sqlite:///{shared_database}", "upgrade")
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
    logged = (tmp_path / "state" / "sls-console" / "log" / "sls-console.log").read_text()
    assert f"The file {shared_database} can be read by other users" in logged
    assert f"run `chmod 600 {shared_database}`" in logged
    watched = subprocess.run(["script", "-qec", f"{sys.executable} -m console --database sqlite:///{shared_database} "
                              f"upgrade", "/dev/null"], env=env, capture_output=True, text=True, timeout=120)
    assert f"Warning: The file {shared_database} can be read by other users" in watched.stdout


def test_the_log_is_created_owner_only_and_an_older_wider_one_narrowed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(logs, "_path", None)
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        path = logs.setup_logging()
        assert path is not None and mode(path) == 0o600 and mode(path.parent) == 0o700
        for h in root.handlers[len(before):]:
            root.removeHandler(h)
            h.close()
        path.chmod(0o644)
        path.parent.chmod(0o755)
        monkeypatch.setattr(logs, "_path", None)
        assert logs.setup_logging() == path
        assert mode(path) == 0o600 and mode(path.parent) == 0o700
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)
            h.close()
