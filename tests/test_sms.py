"""SMS as a temporary device: issued and ended by staff, texted codes with a resend interval, ended by itself
when another device is activated, and a temporary device for the sharing rule."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer

from console.models.entities import AuditEntry, SecurityDevice, User
from console.models.enums import DeviceKind, DeviceState
from console.models.errors import InvalidInput, PermissionDenied, RuleViolation, VerificationFailed
from console.models.limits import Limit
from console.models.printed_cards import PrintedCardService
from console.models.sharing import check_share
from console.models.sms import Outbox, SmsService
from console.models.temporary_access import TemporaryAccessService
from console.models.verification import VerificationService
from tests.factories import add_same_person_username
from tests.sls_helpers import lose_only_device, set_figure

PHONE = "+41 79 123 45 67"


@pytest.fixture
def outbox():
    return Outbox()


@pytest.fixture
def sms(ctx, outbox):
    return SmsService(ctx, outbox)


@pytest.fixture
def after_loss(ctx, world, agent):
    lose_only_device(ctx, agent, world)
    return world


def device(ctx, device_id):
    with ctx.db.read() as s:
        d = s.get(SecurityDevice, device_id, options=[undefer(SecurityDevice.sealed_secret),
                                                      undefer(SecurityDevice.secret_hash)])
        s.expunge(d)
        return d


def actions(ctx, device_id):
    with ctx.db.read() as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.device_id == device_id)
                              .order_by(AuditEntry.id)))


def test_sms_issued_after_a_loss_is_active_and_audited(ctx, after_loss, sms, agent):
    """The verified caller's number becomes an active SMS device; the audit shows only part of the number."""
    issued = sms.issue(agent, after_loss.secondary_id, PHONE, identity_verified=True)
    d = device(ctx, issued.device_id)
    assert (d.kind, d.state, d.phone) == (DeviceKind.sms, DeviceState.active, "+41791234567")
    assert issued.phone_shown == "+41…567"
    with ctx.db.read() as s:
        assert s.get(User, after_loss.secondary_id).active_devices == 2  # passcode and SMS
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "device.sms_issued")).one()
        assert "+41…567" in entry.summary and "791234567" not in entry.summary + entry.details


@pytest.mark.parametrize("phone", ["079 123 45 67", "+41", "+41 79 ABC", "", "+0791234567"])
def test_malformed_number_refused(ctx, after_loss, sms, agent, phone):
    with pytest.raises(InvalidInput, match="international form"):
        sms.issue(agent, after_loss.secondary_id, phone, identity_verified=True)


def test_refused_without_identity_check_or_permission(ctx, after_loss, sms, agent, auditor, compliance):
    with pytest.raises(RuleViolation, match="identity has been verified"):
        sms.issue(agent, after_loss.secondary_id, PHONE, identity_verified=False)
    for actor in (auditor, compliance):
        with pytest.raises(PermissionDenied, match="issue and end SMS"):
            sms.issue(actor, after_loss.secondary_id, PHONE, identity_verified=True)
    with ctx.db.read() as s:
        assert s.scalars(select(SecurityDevice).where(SecurityDevice.kind == DeviceKind.sms)).all() == []


def test_refused_while_a_permanent_device_is_active(ctx, world, sms, agent):
    """SMS serves only until a device is activated: jsmit123's active IB Key makes it unnecessary."""
    with pytest.raises(RuleViolation, match="has an active IB Key"):
        sms.issue(agent, world.secondary_id, PHONE, identity_verified=True)


def test_refused_for_opted_out_user_and_twice(ctx, world, after_loss, sms, agent):
    with pytest.raises(RuleViolation, match="opted out"):
        sms.issue(agent, world.primary_id, PHONE, identity_verified=True)
    sms.issue(agent, world.secondary_id, PHONE, identity_verified=True)
    with pytest.raises(RuleViolation, match="already receives codes by SMS"):
        sms.issue(agent, world.secondary_id, "+41 79 000 00 00", identity_verified=True)


def test_texted_code_accepted_once(ctx, after_loss, sms, outbox, agent):
    """The code texted to the phone proves possession once; the same code again is refused."""
    issued = sms.issue(agent, after_loss.secondary_id, PHONE, identity_verified=True)
    sent = sms.send_code(agent, issued.device_id)
    code = outbox.last_code("+41791234567")
    assert code and len(code) == 6
    verification = VerificationService(ctx)
    with pytest.raises(VerificationFailed, match="not correct"):
        verification.verify(agent, issued.device_id, f"{(int(code) + 1) % 1_000_000:06d}",
                            challenge_id=sent.challenge_id)
    ctx.clock.advance(minutes=2)
    sent = sms.send_code(agent, issued.device_id)
    code = outbox.last_code("+41791234567")
    verification.verify(agent, issued.device_id, code, challenge_id=sent.challenge_id)
    with pytest.raises(VerificationFailed, match="already answered"):
        verification.verify(agent, issued.device_id, code, challenge_id=sent.challenge_id)


def test_resend_waits_for_the_interval_which_is_a_setting(ctx, after_loss, sms, outbox, agent):
    """A new code is texted only 2 minutes after the last; with the setting at 5, only after 5."""
    issued = sms.issue(agent, after_loss.secondary_id, PHONE, identity_verified=True)
    sms.send_code(agent, issued.device_id)
    ctx.clock.advance(seconds=119)
    with pytest.raises(RuleViolation, match="every 2 minutes"):
        sms.send_code(agent, issued.device_id)
    assert len(outbox.sent) == 1
    ctx.clock.advance(seconds=1)
    sms.send_code(agent, issued.device_id)
    set_figure(ctx, "sms_resend_minutes", 5)
    ctx.clock.advance(minutes=4)
    with pytest.raises(RuleViolation, match="every 5 minutes"):
        sms.send_code(agent, issued.device_id)
    assert len(outbox.sent) == 2


def test_staff_end_sms_with_a_reason(ctx, after_loss, sms, agent):
    issued = sms.issue(agent, after_loss.secondary_id, PHONE, identity_verified=True)
    sms.end(agent, issued.device_id, "client found the IB Key phone")
    assert device(ctx, issued.device_id).state is DeviceState.revoked
    assert actions(ctx, issued.device_id)[-1] == "device.sms_ended"
    with pytest.raises(RuleViolation, match="revoked"):
        sms.send_code(agent, issued.device_id)


def test_ending_the_last_device_of_an_enrolled_user_refused(ctx, after_loss, sms, agent):
    """Once the passcode has run out the SMS is jsmit123's only device: ending it is refused, nothing changes."""
    issued = sms.issue(agent, after_loss.secondary_id, PHONE, identity_verified=True)
    ctx.clock.advance(days=13)
    TemporaryAccessService(ctx).expire_due(agent)
    with pytest.raises(RuleViolation, match="without an active security device"):
        sms.end(agent, issued.device_id)
    assert device(ctx, issued.device_id).state is DeviceState.active


def test_sms_gives_its_own_limits(ctx, after_loss, sms, agent):
    from console.models.directory import UserDirectory

    sms.issue(agent, after_loss.secondary_id, PHONE, identity_verified=True)
    assert UserDirectory(ctx).details(after_loss.secondary_id).limits.best == Limit(200_000, 600_000)


def test_sms_ends_when_another_device_is_activated(ctx, world, after_loss, sms, agent):
    """An Online Security Code Card activated for jsmit123 ends its SMS in the same transaction, audited."""
    issued = sms.issue(agent, world.secondary_id, PHONE, identity_verified=True)
    temp = TemporaryAccessService(ctx)
    card = temp.issue_online_card(agent, world.secondary_id)
    ch = VerificationService(ctx).issue_challenge(agent, card.device_id)
    a, b = ch.positions
    temp.activate_online_card(agent, card.device_id, ch.id, card.values[a] + card.values[b])
    assert device(ctx, issued.device_id).state is DeviceState.revoked
    assert actions(ctx, issued.device_id)[-1] == "device.sms_ended"


def test_sms_ends_when_a_printed_card_is_activated(ctx, world, agent):
    """The SMS of the primary user (who holds the rights) ends when its mailed card is activated."""
    from tests.sls_helpers import opt_in_by_ib_key

    ib_key = opt_in_by_ib_key(ctx, agent, world.primary_id)
    from console.models.devices import DeviceService

    DeviceService(ctx).report(agent, ib_key, "lost", user_id=world.primary_id, issue_temporary_passcode=True,
                              identity_verified=True)
    sms = SmsService(ctx)
    issued = sms.issue(agent, world.primary_id, PHONE, identity_verified=True)
    cards = PrintedCardService(ctx)
    card = cards.issue(agent, world.primary_id)
    ch = VerificationService(ctx).issue_challenge(agent, card.device_id)
    a, b = ch.positions
    cards.activate(agent, card.device_id, ch.id, card.values[a] + card.values[b])
    assert device(ctx, issued.device_id).state is DeviceState.revoked


def test_sms_is_a_temporary_device_for_sharing(ctx, world, after_loss, sms, agent):
    """No username in a share may hold a temporary device, and SMS is one: sharing to jsmit123 is refused."""
    sms.issue(agent, world.secondary_id, PHONE, identity_verified=True)
    ctx.clock.advance(days=13)  # the passcode, also temporary, has run out: only the SMS is left
    TemporaryAccessService(ctx).expire_due(agent)
    twin = add_same_person_username(ctx, world.secondary_id, "jsmit777", "U2222222", (DeviceKind.code_card,))
    with ctx.db.read() as s, pytest.raises(RuleViolation, match=r"temporary device \(SMS\)"):
        check_share(s, s.get(SecurityDevice, twin["devices"][0][0]), s.get(User, world.secondary_id),
                    ctx.clock.now())


def test_sms_brings_back_a_user_left_with_no_active_device(ctx, after_loss, sms, agent):
    """Once the passcode has run out jsmit123 has no active device; SMS makes it enrolled again, audited."""
    ctx.clock.advance(days=13)
    TemporaryAccessService(ctx).expire_due(agent)
    from console.models.enums import SlsState

    with ctx.db.read() as s:
        assert s.get(User, after_loss.secondary_id).sls_state is SlsState.no_device
    sms.issue(agent, after_loss.secondary_id, PHONE, identity_verified=True)
    with ctx.db.read() as s:
        assert s.get(User, after_loss.secondary_id).sls_state is SlsState.enrolled
