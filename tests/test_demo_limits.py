"""Demo data: sizes beyond this machine refused, staff of a real database protected, and killing the
load stops its writer process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from console.models.db import Database
from console.models.demo import generate
from console.models.demo_limits import (
    DISK_BYTES_PER_USER,
    Room,
    check_size,
    room_for_demo,
)
from console.models.demo_staff import create_demo_staff
from console.models.entities import User
from console.models.errors import InvalidInput, PermissionDenied
from console.models.settings import Figures

ROOT = Path(__file__).resolve().parent.parent


def user_count(ctx) -> int:
    with ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(User))


@pytest.mark.parametrize("users", [0, -5, 10_000_000_001, True, "100"])
def test_sizes_beyond_the_machine_or_not_a_count_are_refused(ctx, users):
    """Zero, negative, not a whole number, or more than fits: one sentence, nothing added."""
    with pytest.raises(InvalidInput) as refused:
        generate(ctx, Figures(), users)
    assert "\n" not in str(refused.value) and "Nothing was added" in str(refused.value) or "at least 1" in \
        str(refused.value)
    assert user_count(ctx) == 0


def test_room_comes_from_free_memory_and_disk(db):
    """The smaller of what free memory and free disk allow, named in the refusal."""
    room = room_for_demo(db, free_memory=64 * 2**30, free_disk=10 * 2**30)
    assert room.users == int(10 * 2**30 * 0.8 / DISK_BYTES_PER_USER) and "10.0 GB free" in room.why
    tight = room_for_demo(db, free_memory=2**30, free_disk=10**15)
    assert 0 < tight.users < room.users and "1.0 GB of free memory" in tight.why
    with pytest.raises(InvalidInput, match=f"more than this machine can hold: .* about {tight.users:,};"):
        check_size(db, tight.users + 1, tight)
    check_size(db, tight.users, tight)
    with pytest.raises(InvalidInput, match="about 0"):
        check_size(db, 1, Room(0, "no memory"))


def test_memory_room_counts_two_batches_in_flight_and_the_sets():
    """A million users need about two batches' rows and the million-entry sets (1.5 GB measured); a small
    machine still has room for a small demo."""
    from console.models import demo, demo_limits

    assert demo_limits.USERS_IN_FLIGHT == 2 * demo.BATCH_USERS
    assert room_for_demo(Database("sqlite://"), free_memory=2 * 2**30, free_disk=10**15).users >= 1_000_000
    small = room_for_demo(Database("sqlite://"), free_memory=2**29, free_disk=10**15).users
    assert 20_000 < small < 200_000


def test_database_with_real_staff_needs_an_administrator(ctx, agent, admin):
    """Real staff (not the demo's own): no demo data without an administrator's session; a help-desk
    agent's is refused too; an administrator's is accepted."""
    with pytest.raises(PermissionDenied, match="only a signed-in administrator may add demo data"):
        generate(ctx, Figures(), 5, seed=1)
    with pytest.raises(PermissionDenied):
        generate(ctx, Figures(), 5, seed=1, actor=agent)
    assert user_count(ctx) == 0
    assert generate(ctx, Figures(), 5, seed=1, actor=admin).users >= 5


def test_demo_database_with_only_demo_staff_takes_more_demo_data(ctx, staff_service):
    """A demo database (its staff made by the demo) may be filled further without signing in."""
    generate(ctx, Figures(), 5, seed=1)
    assert create_demo_staff(staff_service)
    assert generate(ctx, Figures(), 5, seed=2).users >= 5


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found += [int(c) for c in text.split()]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc (Linux)")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_killing_demo_stops_its_writer_process(tmp_path, how):
    """`sls-console demo` with a large size stores batches in a writer process. Killed (SIGTERM, Ctrl+C, or
    SIGKILL: the parent dies without clean-up), no process it started survives."""
    env = dict(os.environ, SLS_CONSOLE_KEY_FILE=str(tmp_path / "master.key"), SLS_CONSOLE_NO_KEYRING="1")
    env.pop("SLS_CONSOLE_KEY", None)
    demo = subprocess.Popen([sys.executable, "-m", "console", "--database", f"sqlite:///{tmp_path / 'd.sqlite3'}",
                             "demo", "--users", "400000", "--seed", "1"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (children := _children(demo.pid)):
            assert demo.poll() is None, demo.communicate()[1]
            assert time.monotonic() < deadline, "demo started no writer process"
            time.sleep(0.1)
        demo.send_signal(how)
        _, err = demo.communicate(timeout=60)
        deadline = time.monotonic() + 20
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [c for c in children if _alive(c)], f"left running: {children}"
        assert "Traceback" not in err
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
