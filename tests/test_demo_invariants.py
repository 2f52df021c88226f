"""Fresh demo data, after the console's start-up run, breaks no invariant."""

from __future__ import annotations

from console.app import run_startup_tasks
from console.models.demo import generate
from console.models.directory import UserDirectory, UserQuery
from console.models.enums import SlsState
from console.models.settings import Figures
from tests.invariants import assert_invariants


def test_a_2000_user_demo_keeps_every_invariant_after_the_start_up_run(ctx):
    """No enrolled user left with nothing to log in with: those whose temporary passcode expired are listed as
    "No active device"; reserves, charges, holders and the audit chain agree."""
    generate(ctx, Figures(), 2000, seed=5)
    run_startup_tasks(ctx)
    assert_invariants(ctx)
    assert UserDirectory(ctx).count(UserQuery(state=SlsState.no_device)) > 0
