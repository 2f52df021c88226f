"""A device locked after wrong codes: the agent is warned before the lock, and staff unlock it (audited)."""

import pyotp
import pytest
from sqlalchemy import select

from console.models.enrollment import EnrollmentService
from console.models.entities import AuditEntry, SecurityDevice, User
from console.models.enums import DeviceKind
from console.models.errors import DeviceLocked, PermissionDenied, RuleViolation, VerificationFailed
from console.models.verification import VerificationService
from tests.factories import add_device


def _wrong(app: pyotp.TOTP, now) -> str:
    right = app.at(now)
    return "000000" if right != "000000" else "111111"


def test_each_wrong_code_says_how_many_tries_are_left_then_that_it_locked(ctx, world, agent):
    """Wrong codes count down ("4 tries left", ..., "1 try left") and the fifth says the device is locked."""
    svc = EnrollmentService(ctx)
    start = svc.start_ib_key(agent, world.primary_id)
    app = pyotp.parse_uri(start.provisioning_uri)
    messages = []
    for _ in range(5):
        with pytest.raises(VerificationFailed) as failed:
            svc.confirm(agent, world.primary_id, start.device_id, _wrong(app, ctx.clock.now()))
        messages.append(str(failed.value))
    assert "4 tries left before this IB Key locks." in messages[0]
    assert "2 tries left before this IB Key locks." in messages[2]
    assert "1 try left before this IB Key locks." in messages[3]
    assert "now locked" in messages[4] and "tries left" not in messages[4]


def test_unlock_lifts_the_lock_resets_the_count_and_is_audited_with_the_serial(ctx, world, agent):
    """Unlocking a locked card clears the lock and the failure count and records who, why and which serial."""
    with ctx.db.write() as s:
        device, _seed = add_device(s, ctx, s.get(User, world.primary_id), DeviceKind.dsc_plus, serial="DSC900000777")
        device.locked, device.failed_attempts = True, 5
        device_id = device.id
    VerificationService(ctx).unlock(agent, device_id, "client identity checked")
    with ctx.db.read() as s:
        device = s.get(SecurityDevice, device_id)
        assert (device.locked, device.failed_attempts) == (False, 0)
        entry = s.execute(select(AuditEntry.actor, AuditEntry.device_id, AuditEntry.summary)
                          .where(AuditEntry.action == "device.unlocked")).one()
    assert (entry.actor, entry.device_id) == (agent.username, device_id)
    assert entry.summary.endswith("DSC900000777 unlocked: client identity checked"), entry.summary


def test_unlock_refused_to_auditors_and_for_a_device_that_is_not_locked(ctx, world, agent, auditor):
    """Auditors may not unlock; unlocking a device that is not locked is refused and changes nothing."""
    service = VerificationService(ctx)
    with pytest.raises(PermissionDenied):
        service.unlock(auditor, world.secondary_device_id)
    with pytest.raises(RuleViolation, match="not locked"):
        service.unlock(agent, world.secondary_device_id)


def test_a_locked_device_refuses_even_the_right_code(ctx, world, agent):
    """While locked, the right code is refused with the lock named, and the refusal changes nothing."""
    with ctx.db.write() as s:
        s.get(SecurityDevice, world.secondary_device_id).locked = True
    code = pyotp.TOTP(world.secondary_seed).at(ctx.clock.now())
    with pytest.raises(DeviceLocked, match="must unlock"):
        VerificationService(ctx).verify(agent, world.secondary_device_id, code)
