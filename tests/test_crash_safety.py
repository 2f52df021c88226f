"""A writer killed with SIGKILL part-way leaves a sound database that keeps every committed change."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from console.models import audit
from console.models.entities import Setting

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_write_keeps_committed_changes(db):
    """Kill a process that is committing transaction after transaction; afterwards the SQLite integrity
    check passes, every change it reported committed is there, and the audit chain verifies."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    child = subprocess.Popen([sys.executable, "-m", "tests.crash_writer", db.url], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    committed = 0
    try:
        for line in child.stdout:
            committed = int(line)
            if committed >= 25:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    assert committed >= 25
    db.dispose()
    with db.read() as s:
        if db.is_sqlite:
            assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        numbers = {int(v) for v in s.scalars(select(Setting.value).where(Setting.key.like("crash_%")))}
        assert set(range(1, committed + 1)) <= numbers
        assert numbers == set(range(1, max(numbers) + 1))  # whole transactions only: no gaps
        result = audit.verify(s)
        assert result.ok, result.problem
        assert result.count == 20 * max(numbers)
