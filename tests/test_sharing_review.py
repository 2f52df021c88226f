"""Sharing requests that wait for compliance approval: which wait, the queue, approval and rejection with a
reason, and the requester's state following the decision."""

import pyotp
import pytest
from sqlalchemy import select

from console.models.devices import DeviceService
from console.models.enrollment import AwaitingApproval, Enrolled, EnrollmentService
from console.models.entities import AuditEntry, DeviceHolding, SharingRequest, User
from console.models.enums import DeviceKind, SharingRequestState, SlsState, UserRole
from console.models.errors import InvalidInput, PermissionDenied, RuleViolation
from console.models.sharing_review import ACROSS_ENTITIES, SharingReviewService
from tests.factories import add_account, add_device, add_same_person_username, add_user, user_snapshot
from tests.sls_helpers import set_figure


@pytest.fixture
def review(ctx):
    return SharingReviewService(ctx)


@pytest.fixture
def twin(ctx, world):
    """jsmit777: Jane Smith (jsmit001) under a second account, a separate entity with the same identification."""
    return add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")


def request_share(ctx, world, twin, agent):
    svc = EnrollmentService(ctx)
    device_id, _, seed = twin["devices"][0]
    svc.start_shared(agent, world.primary_id, "jsmit777")
    return svc.confirm(agent, world.primary_id, device_id, pyotp.TOTP(seed).at(ctx.clock.now()))


def holders(ctx, device_id):
    with ctx.db.read() as s:
        return set(s.scalars(select(DeviceHolding.user_id).where(DeviceHolding.device_id == device_id)))


def actions(ctx, user_id):
    with ctx.db.read() as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.user_id == user_id).order_by(AuditEntry.id)))


def test_share_across_entities_waits_and_the_user_stays_pending(ctx, world, twin, agent, review):
    """A good code from the other entity's IB Key makes a request; Jane stays pending with her restrictions."""
    result = request_share(ctx, world, twin, agent)
    assert isinstance(result, AwaitingApproval) and result.why == ACROSS_ENTITIES
    state, held, restrictions, active = user_snapshot(ctx, world.primary_id)
    assert state is SlsState.pending and held == [] and restrictions and active == 0
    assert holders(ctx, twin["devices"][0][0]) == {twin["user_id"]}
    [row] = review.queue(agent)
    assert (row.username, row.holders, row.why_review) == ("jsmit001", ("jsmit777 (Jane Smith)",), ACROSS_ENTITIES)
    assert row.matched in ("SSN", "date of birth, citizenship, residence, ID document")
    assert actions(ctx, world.primary_id)[-1] == "sharing.requested"


def test_a_second_code_while_waiting_is_refused(ctx, world, twin, agent):
    result = request_share(ctx, world, twin, agent)
    device_id, _, seed = twin["devices"][0]
    ctx.clock.advance(seconds=30)
    with pytest.raises(RuleViolation, match="waits for compliance approval"):
        EnrollmentService(ctx).confirm(agent, world.primary_id, device_id, pyotp.TOTP(seed).at(ctx.clock.now()))
    assert result.request_id


def test_approval_shares_and_enrolls_with_the_reason_audited(ctx, world, twin, agent, compliance, review):
    result = request_share(ctx, world, twin, agent)
    row = review.approve(compliance, result.request_id, "Passport and date of birth match")
    assert row.state is SharingRequestState.approved
    state, _, restrictions, active = user_snapshot(ctx, world.primary_id)
    assert (state, restrictions, active) == (SlsState.enrolled, [], 1)
    assert holders(ctx, twin["devices"][0][0]) == {twin["user_id"], world.primary_id}
    assert actions(ctx, world.primary_id)[-3:] == ["device.shared", "user.enrolled", "sharing.approved"]
    with ctx.db.read() as s:
        req = s.get(SharingRequest, result.request_id)
        assert (req.decided_by, req.reason) == ("comp01", "Passport and date of birth match")
    assert review.queue(agent) == []


def test_rejection_puts_the_requester_back_to_opted_out(ctx, world, twin, agent, compliance, review):
    before = user_snapshot(ctx, world.primary_id)
    result = request_share(ctx, world, twin, agent)
    review.reject(compliance, result.request_id, "Different passport numbers on file")
    assert user_snapshot(ctx, world.primary_id) == before
    assert actions(ctx, world.primary_id)[-1] == "sharing.rejected"
    assert holders(ctx, twin["devices"][0][0]) == {twin["user_id"]}


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_decision_needs_a_reason_and_the_permission(ctx, world, twin, agent, compliance, admin, review, decide):
    """A blank reason and a help-desk agent are refused; the request still waits. An administrator may decide."""
    result = request_share(ctx, world, twin, agent)
    with pytest.raises(InvalidInput, match="Give the reason"):
        getattr(review, decide)(compliance, result.request_id, "   ")
    with pytest.raises(PermissionDenied, match="approve or reject sharing requests"):
        getattr(review, decide)(agent, result.request_id, "looks fine")
    assert len(review.queue(agent)) == 1
    getattr(review, decide)(admin, result.request_id, "checked")
    with pytest.raises(RuleViolation, match="already"):
        getattr(review, decide)(compliance, result.request_id, "again")


def test_approval_refused_when_the_device_is_no_longer_shareable(ctx, world, twin, agent, compliance, review):
    """The owner lost the IB Key meanwhile: approval is refused, nothing changes, rejection is the way on."""
    result = request_share(ctx, world, twin, agent)
    device_id = twin["devices"][0][0]
    DeviceService(ctx).report(agent, device_id, "lost", user_id=twin["user_id"], issue_temporary_passcode=True,
                              identity_verified=True)
    before = user_snapshot(ctx, world.primary_id)
    with pytest.raises(RuleViolation, match="can no longer be approved.*Reject it"):
        review.approve(compliance, result.request_id, "ok")
    assert user_snapshot(ctx, world.primary_id) == before
    review.reject(compliance, result.request_id, "device reported lost")


def test_cancelling_the_opt_in_withdraws_the_request(ctx, world, twin, agent, review):
    result = request_share(ctx, world, twin, agent)
    EnrollmentService(ctx).cancel(agent, world.primary_id)
    with ctx.db.read() as s:
        assert s.get(SharingRequest, result.request_id).state is SharingRequestState.withdrawn
        assert s.get(User, world.primary_id).sls_state is SlsState.opted_out
    assert review.queue(agent) == []


def test_same_entity_share_is_approved_at_once(ctx, world, agent):
    """Two usernames of one entity (one person row) need no review, as most real requests."""
    with ctx.db.write() as s:
        jane = s.get(User, world.primary_id)
        acct = add_account(s, ctx, "U3333333", title="Jane Smith (IRA)")
        other = add_user(s, ctx, acct, jane.person, "jsmit333", UserRole.primary, SlsState.enrolled)
        device, seed = add_device(s, ctx, other, DeviceKind.ib_key)
        device_id = device.id
    svc = EnrollmentService(ctx)
    svc.start_shared(agent, world.primary_id, "jsmit333")
    assert isinstance(svc.confirm(agent, world.primary_id, device_id, pyotp.TOTP(seed).at(ctx.clock.now())),
                      Enrolled)


def test_review_can_be_switched_off(ctx, world, twin, agent):
    set_figure(ctx, "sharing_review_across_entities", 0)
    assert isinstance(request_share(ctx, world, twin, agent), Enrolled)


def test_enrolled_user_share_waits_and_stays_enrolled(ctx, world, agent, compliance, review):
    """From the devices screen: jsmit888 (enrolled with a card, another entity of John Smith) asks to share
    jsmit123's IB Key; it keeps its card while waiting, and holds both after approval."""
    other = add_same_person_username(ctx, world.secondary_id, "jsmit888", "U3333333", (DeviceKind.code_card,))
    code = pyotp.TOTP(world.secondary_seed).at(ctx.clock.now())
    request_id = DeviceService(ctx).share(agent, world.secondary_device_id, other["user_id"], code)
    assert request_id is not None
    assert user_snapshot(ctx, other["user_id"])[0] is SlsState.enrolled
    assert holders(ctx, world.secondary_device_id) == {world.secondary_id}
    review.approve(compliance, request_id, "same passport")
    assert holders(ctx, world.secondary_device_id) == {world.secondary_id, other["user_id"]}
    assert user_snapshot(ctx, other["user_id"])[0] is SlsState.enrolled


def test_opting_out_withdraws_the_users_waiting_share(ctx, world, agent, review):
    """Found by the stateful test: an enrolled user's share waited for compliance, the user opted out, and the
    request kept waiting, so an approval would have handed a device to an opted-out user. Opting out withdraws
    it, audited, and says so in the result."""
    other = add_same_person_username(ctx, world.secondary_id, "jsmit888", "U3333333", (DeviceKind.code_card,))
    code = pyotp.TOTP(world.secondary_seed).at(ctx.clock.now())
    request_id = DeviceService(ctx).share(agent, world.secondary_device_id, other["user_id"], code)
    assert request_id is not None
    result = EnrollmentService(ctx).opt_out(agent, other["user_id"], "I accept the risks.", True)
    assert result.withdrawn_requests == (request_id,)
    with ctx.db.read() as s:
        request = s.get(SharingRequest, request_id)
        assert (request.state, request.decided_by, request.reason) == (
            SharingRequestState.withdrawn, "hdesk01", "user opted out")
    assert user_snapshot(ctx, other["user_id"])[0] is SlsState.opted_out
    assert actions(ctx, other["user_id"])[-2:] == ["sharing.withdrawn", "user.opted_out"]
    assert review.queue(agent) == []


def test_waiting_request_is_on_the_work_list(ctx, world, twin, agent, compliance, review):
    """The work list names the requester while the request waits, and drops it once decided."""
    from console.models.work_list import WorkListService

    result = request_share(ctx, world, twin, agent)
    [section] = [x for x in WorkListService(ctx).today(agent) if x.source == "sharing"]
    assert section.total == 1 and section.items[0].username == "jsmit001"
    assert section.items[0].opens == "sharing_request"
    assert section.items[0].request_id == result.request_id
    review.reject(compliance, result.request_id, "different people")
    [section] = [x for x in WorkListService(ctx).today(agent) if x.source == "sharing"]
    assert section.total == 0
