"""Temporary passcodes: shown once, stored as a keyed salted hash, full then portal-only access, never two in a row
for one account."""

import datetime as dt
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer

from console.models import vault
from console.models.entities import SecurityDevice, User
from console.models.enums import DeviceKind, DeviceState, SlsState
from console.models.errors import PermissionDenied, RuleViolation, VerificationFailed
from console.models.passcode_hash import passcode_hash
from console.models.temporary_access import TemporaryAccessService
from console.models.verification import VerificationService
from tests.factories import add_device
from tests.lifecycle import audit_actions, audit_count, user


@pytest.fixture
def svc(ctx):
    return TemporaryAccessService(ctx)


def _issue(svc, agent, world):
    return svc.issue_temporary_passcode(agent, world.secondary_id, identity_verified=True, reason="DSC+ lost")


def _row(ctx, device_id) -> SecurityDevice:
    with ctx.db.read() as s:
        d = s.get(SecurityDevice, device_id, options=[undefer(SecurityDevice.sealed_secret),
                                                      undefer(SecurityDevice.secret_hash)])
        s.expunge(d)
        return d


def test_passcode_stored_only_as_salted_keyed_hash(ctx, svc, agent, world, box):
    """The passcode is returned once; the database keeps a salt and a keyed hash, never the passcode."""
    issued = _issue(svc, agent, world)
    assert re.fullmatch(r"[A-Z0-9]{8}", issued.passcode)
    d = _row(ctx, issued.device_id)
    assert d.kind is DeviceKind.temporary_passcode and d.state is DeviceState.active
    with ctx.db.read() as s:
        stored = s.get(SecurityDevice, issued.device_id)
        assert vault.slot_matches(s, stored, 1, passcode_hash(box, d.secret_salt, issued.passcode))
        assert issued.passcode.encode() not in stored.secret_hash + d.secret_salt
    other = _issue_for_other_account(ctx, svc, agent, world, box)
    assert _row(ctx, other.device_id).secret_salt != d.secret_salt
    assert "device.temporary_passcode_issued" in audit_actions(ctx, issued.device_id)
    assert user(ctx, world.secondary_id).active_devices == 2


def _issue_for_other_account(ctx, svc, agent, world, box):
    return svc.issue_temporary_passcode(agent, world.org_primary_id, identity_verified=True)


def test_passcode_windows_come_from_settings(ctx, svc, agent, world):
    """Full access for 2 days, then portal only for 10 more (the configured figures)."""
    issued = _issue(svc, agent, world)
    now = ctx.clock.now()
    assert issued.full_access_until == now + dt.timedelta(days=2)
    assert issued.expires_at == now + dt.timedelta(days=12)


@pytest.mark.parametrize("after, access", [(dt.timedelta(0), "full"),
                                           (dt.timedelta(days=2) - dt.timedelta(seconds=1), "full"),
                                           (dt.timedelta(days=2), "portal"),
                                           (dt.timedelta(days=12) - dt.timedelta(seconds=1), "portal")])
def test_passcode_accepted_inside_its_windows(ctx, svc, agent, world, after, access):
    """Inside the first 2 days the passcode gives full access, then portal-only access until day 12."""
    issued = _issue(svc, agent, world)
    ctx.clock.advance(seconds=after.total_seconds())
    result = VerificationService(ctx).verify(agent, issued.device_id, issued.passcode.lower())
    assert result.access == access


def test_passcode_refused_after_its_windows(ctx, svc, agent, world):
    """From day 12 the passcode is refused as expired."""
    issued = _issue(svc, agent, world)
    ctx.clock.advance(days=12)
    with pytest.raises(VerificationFailed, match="expired"):
        VerificationService(ctx).verify(agent, issued.device_id, issued.passcode)


def test_wrong_passcode_refused(ctx, svc, agent, world):
    """Another passcode does not open this one."""
    issued = _issue(svc, agent, world)
    wrong = "ABCD2345" if issued.passcode != "ABCD2345" else "ABCD2346"
    with pytest.raises(VerificationFailed, match="not correct"):
        VerificationService(ctx).verify(agent, issued.device_id, wrong)


def test_consecutive_passcode_refused_for_the_same_account(ctx, svc, agent, world):
    """A second passcode for any user of the account is refused while the last temporary access was a passcode,
    even after the first expired; nothing is written."""
    _issue(svc, agent, world)
    ctx.clock.advance(days=30)
    with ctx.db.write() as s:  # the primary user enrolled meanwhile
        s.get(User, world.primary_id).sls_state = SlsState.enrolled
    before = audit_count(ctx)
    for user_id in (world.secondary_id, world.primary_id):
        with pytest.raises(RuleViolation, match="never issued in a row"):
            svc.issue_temporary_passcode(agent, user_id, identity_verified=True)
    assert audit_count(ctx) == before
    assert svc.can_issue(world.secondary_id) is not None


def test_passcode_allowed_again_after_an_online_card(ctx, svc, agent, world):
    """An Online Security Code Card issued after the passcode breaks the run; a passcode may follow it."""
    _issue(svc, agent, world)
    ctx.clock.advance(days=3)
    with ctx.db.write() as s:
        add_device(s, ctx, s.get(User, world.secondary_id), DeviceKind.online_code_card, serial="CC0000000099",
                   preferred=False)
    ctx.clock.advance(days=1)
    assert svc.can_issue(world.secondary_id) is None
    assert _issue(svc, agent, world).passcode


def test_passcode_for_another_account_is_not_consecutive(ctx, svc, agent, world):
    """The rule is per account: a passcode on U1234567 does not block one on U7654321."""
    _issue(svc, agent, world)
    svc.issue_temporary_passcode(agent, world.org_primary_id, identity_verified=True)


def test_passcode_needs_verified_identity(ctx, svc, agent, world):
    """Issued by phone only after the security question; refused otherwise."""
    before = audit_count(ctx)
    with pytest.raises(RuleViolation, match="identity"):
        svc.issue_temporary_passcode(agent, world.secondary_id, identity_verified=False)
    assert audit_count(ctx) == before


def test_passcode_not_issued_to_opted_out_user(ctx, svc, agent, world):
    """An opted-out user logs in without a second factor and needs no passcode."""
    with pytest.raises(RuleViolation, match="opted out"):
        svc.issue_temporary_passcode(agent, world.primary_id, identity_verified=True)


def test_auditor_may_not_issue_passcodes(ctx, svc, auditor, world):
    """Issuing temporary access is a help-desk permission."""
    with pytest.raises(PermissionDenied):
        svc.issue_temporary_passcode(auditor, world.secondary_id, identity_verified=True)


def test_expiry_run_marks_passcodes_expired_and_recounts(ctx, svc, agent, admin, world):
    """After its end the passcode is marked expired and no longer counts as an active device; repeatable."""
    issued = _issue(svc, agent, world)
    assert svc.expire_due(admin) == 0
    ctx.clock.advance(days=12)
    assert svc.expire_due(admin) == 1
    assert svc.expire_due(admin) == 0
    assert _row(ctx, issued.device_id).state is DeviceState.expired
    assert user(ctx, world.secondary_id).active_devices == 1
    with ctx.db.read() as s:
        assert s.scalar(select(SecurityDevice.state).where(SecurityDevice.id == world.secondary_device_id)) \
            is DeviceState.active


def test_online_card_after_loss_activates_and_ends_the_passcode_run(ctx, svc, agent, world):
    """The card offered after a passcode waits for two good values, then is active; a passcode may follow."""
    from console.models.verification import VerificationService

    _issue(svc, agent, world)
    card = svc.issue_online_card(agent, world.secondary_id)
    assert _row(ctx, card.device_id).state is DeviceState.pending
    assert _row(ctx, card.device_id).expires_at == ctx.clock.now() + dt.timedelta(days=21)
    ch = VerificationService(ctx).issue_challenge(agent, card.device_id)
    a, b = ch.positions
    svc.activate_online_card(agent, card.device_id, ch.id, card.values[a] + card.values[b])
    assert _row(ctx, card.device_id).state is DeviceState.active
    assert user(ctx, world.secondary_id).active_devices == 3
    assert svc.can_issue(world.secondary_id) is None


def test_online_card_after_loss_only_for_enrolled_users(ctx, svc, agent, world):
    """An opted-out user gets the card through the opt-in, not here."""
    with pytest.raises(RuleViolation, match="through the opt-in"):
        svc.issue_online_card(agent, world.primary_id)
