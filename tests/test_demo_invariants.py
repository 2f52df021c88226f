"""Fresh demo data, after the console's start-up run, breaks no invariant."""

from __future__ import annotations

from console.app import run_startup_tasks
from console.models.demo import generate
from console.models.directory import UserDirectory, UserQuery
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


def test_a_fresh_demo_has_sharing_requests_for_compliance_that_can_be_decided(ctx, compliance):
    """Demo data has the same person under usernames in different entities: their shares wait in the queue,
    each requester pending with its restrictions, and a reviewer can approve (enrolling it) or reject one."""
    generate(ctx, Figures(), 800, seed=3)
    run_startup_tasks(ctx)
    review = SharingReviewService(ctx)
    queue = review.queue(compliance)
    assert len(queue) == 2 and all(r.sls_state is SlsState.pending and r.holders for r in queue)
    assert all(r.matched != "same entity" and r.why_review == ACROSS_ENTITIES for r in queue)
    assert review.approve(compliance, queue[0].id, "Passport and date of birth match").sls_state is SlsState.enrolled
    assert review.reject(compliance, queue[1].id, "Could not confirm the ID").sls_state is SlsState.opted_out
    assert_invariants(ctx)
