"""Changes committed by another desk reach this one (kind and ids), on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from console.models.changes import ChangeWatcher
from console.models.enrollment import EnrollmentService
from tests.desk_process import run_desks


def wait_for_notice(watcher: ChangeWatcher, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        notice = watcher.wait(0.5)
        if notice is not None:
            return notice
    return None


def test_another_desks_opt_in_is_announced_with_the_user_and_device(ctx, clock, tmp_path, world, admin):
    """Desk B (another process) starts an opt-in for jsmit001: this desk's watcher says users {jsmit001} and
    devices {the new IB Key} changed, by whom, and the audit trail grew. (`admin` is on the staff before.)"""
    watcher = ChangeWatcher(ctx.db)
    try:
        [answer] = run_desks(ctx.db, clock, tmp_path, ("start_ib_key", {"user_id": world.primary_id}))
        assert answer["outcome"] == "done", answer
        notice = wait_for_notice(watcher)
        assert notice is not None
        assert notice.touches("users", world.primary_id) and not notice.touches("users", world.secondary_id)
        assert notice.touches("devices", answer["result"]) and notice.touches("audit")
        assert notice.actors == {"admin01"}
        assert watcher.wait(0.3) is None  # told once
    finally:
        watcher.close()


def test_this_desks_own_writes_are_not_announced_again(ctx, world, agent):
    """The operation runner already announces this desk's writes; the watcher stays silent about them."""
    watcher = ChangeWatcher(ctx.db)
    try:
        EnrollmentService(ctx).start_ib_key(agent, world.primary_id)
        assert watcher.wait(0.6) is None
    finally:
        watcher.close()
