"""Deadlocks and serialization failures are retried (bounded, with backoff), not only prevented by the writer lock.

A service method is one request; a transaction the server stopped to break a deadlock wrote nothing, so the
request runs again (console/models/db.py, retries_conflicts)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import threading
import time

import pytest
from sqlalchemy import text

import console.models
from console.models import audit
from console.models.db import WRITE_ATTEMPTS, retries_conflicts
from console.models.enrollment import EnrollmentService
from console.models.entities import User
from console.models.enums import SlsState
from console.models.errors import WriteConflict
from console.models.opt_out_terms import STATEMENT
from tests.lifecycle import enroll_primary


def test_every_service_class_retries_conflicts():
    """Each service class carries the retry, so a new one cannot forget it."""
    missing = []
    for info in pkgutil.iter_modules(console.models.__path__):
        module = importlib.import_module(f"console.models.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and name.endswith("Service") and name != "ServiceContext":
                if not getattr(cls, "__retries_conflicts__", False):
                    missing.append(name)
    assert not missing, f"decorate with @retries_conflicts: {missing}"


def _flaky(ctx, fails: int):
    """A service (a fresh class each time) whose write meets a deadlock the first `fails` times."""

    @retries_conflicts
    class Flaky:
        def __init__(self) -> None:
            self.ctx, self.calls = ctx, 0

        def change(self, value: str) -> str:
            self.calls += 1
            if self.calls <= fails:
                raise WriteConflict("deadlock detected")
            return value

    return Flaky()


def test_a_conflict_is_run_again_until_it_goes_through(ctx):
    service = _flaky(ctx, fails=2)
    before = ctx.db.retried
    assert service.change("done") == "done"
    assert (service.calls, ctx.db.retried - before) == (3, 2)


def test_retries_are_bounded_then_the_agent_is_told(ctx):
    service = _flaky(ctx, fails=99)
    with pytest.raises(WriteConflict, match="deadlock"):
        service.change("never")
    assert service.calls == WRITE_ATTEMPTS


def test_a_real_deadlock_on_postgresql_is_retried_and_nothing_is_lost(ctx, db, world, agent):
    """Another session (not a desk: it does not take the writer lock, like a DBA's script) holds jsmit001's row
    and then wants to update the agent's staff row, while the desk's opt-out holds that staff row (its session
    check keeps it FOR SHARE) and waits for jsmit001's row: a deadlock. The server stops the desk's transaction
    (it waited first); the opt-out runs again once the other session has committed, and wins. Both changes are
    kept and the audit chain verifies."""
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time (BEGIN IMMEDIATE): no deadlock to retry")
    enroll_primary(ctx, world)
    before = ctx.db.retried
    outcome: dict[str, object] = {}

    def desk() -> None:
        try:
            outcome["result"] = EnrollmentService(ctx).opt_out(agent, world.primary_id, STATEMENT, True)
        except Exception as exc:  # noqa: BLE001  (reported to the test thread)
            outcome["error"] = exc

    with db.engine.connect() as other:
        other.execute(text("SET lock_timeout = '20s'"))
        other.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": world.primary_id})
        thread = threading.Thread(target=desk)
        thread.start()
        _wait_until_waiting_on_a_lock(db)  # the desk holds its staff row and waits for jsmit001's
        other.execute(text("UPDATE staff SET full_name = 'Harriet Desk (night shift)' WHERE username = 'hdesk01'"))
        other.commit()
        thread.join(timeout=30)
    assert "error" not in outcome, outcome.get("error")
    assert ctx.db.retried - before == 1
    with ctx.db.read() as s:
        assert s.get(User, world.primary_id).sls_state is SlsState.opted_out
        assert s.scalar(text("SELECT full_name FROM staff WHERE username = 'hdesk01'")) == (
            "Harriet Desk (night shift)")
        assert audit.verify(s).ok


def _wait_until_waiting_on_a_lock(db, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.engine.connect() as probe:
            waiting = probe.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                        "AND datname = current_database()"))
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the desk's opt-out never waited for the audit head")
