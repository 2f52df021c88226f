"""Fresh demo data, after the console's start-up run, breaks no invariant."""

from __future__ import annotations

import random

from console.app import run_startup_tasks
from console.models.demo import generate
from console.models.demo_twins import _free
from console.models.directory import UserDirectory, UserQuery
from console.models.entities import User
from console.models.enums import SlsState
from console.models.settings import Figures
from console.models.sharing_review import ACROSS_ENTITIES, SharingReviewService
from tests.invariants import assert_invariants


def test_a_2000_user_demo_keeps_every_invariant_after_the_start_up_run(ctx):
    """No enrolled user left with nothing to log in with: those whose temporary passcode expired are listed as
    "No active device"; reserves, charges, holders and the audit chain agree."""
    generate(ctx, Figures(), 2000, seed=5)
    run_startup_tasks(ctx)
    assert_invariants(ctx)
    assert UserDirectory(ctx).count(UserQuery(state=SlsState.no_device)) > 0
    assert SharingReviewService(ctx).pending_count() == 5  # one cross-entity twin per 400 users


def test_a_fresh_demo_has_sharing_requests_for_compliance_that_can_be_decided(ctx, compliance, admin):
    """Demo data has the same person under usernames in different entities: their shares wait in the queue,
    each requester pending with its restrictions, and a reviewer can approve (enrolling it) or reject one."""
    generate(ctx, Figures(), 800, seed=3, actor=admin)  # the database has staff: an administrator adds demo data
    run_startup_tasks(ctx)
    review = SharingReviewService(ctx)
    queue = review.queue(compliance)
    assert len(queue) == 2 and all(r.sls_state is SlsState.pending and r.holders for r in queue)
    assert all(r.matched != "same entity" and r.why_review == ACROSS_ENTITIES for r in queue)
    assert review.approve(compliance, queue[0].id, "Passport and date of birth match").sls_state is SlsState.enrolled
    assert review.reject(compliance, queue[1].id, "Could not confirm the ID").sls_state is SlsState.opted_out
    assert_invariants(ctx)


def test_a_twin_username_grows_a_digit_when_every_short_one_of_its_stem_is_taken(ctx):
    """At a million demo users every smith000-smith999 is taken; the twin then gets a longer number, never a
    failed demo."""
    rng = random.Random(1)
    taken = {f"smith{n:03d}" for n in range(1000)}
    with ctx.db.write() as s:
        name = _free(s, rng, lambda width: f"smith{rng.randrange(10 ** width):0{width}d}", User.username, taken)
    assert name.startswith("smith") and len(name) >= 9 and name in taken
