"""Second-factor checks shared by every path: TOTP vectors, replay, challenges, lockout."""

import datetime as dt
import hashlib

import pyotp
import pytest
from sqlalchemy import func, select

from console.models.cards import store_card
from console.models.entities import AuditEntry, SecurityDevice
from console.models.enums import DeviceKind
from console.models.errors import DeviceLocked, InvalidInput, VerificationFailed
from console.models.verification import VerificationService, dsc_response, totp_match, totp_step
from tests.factories import add_device

RFC_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"


@pytest.mark.parametrize("unix, expected", [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
                                            (1234567890, "89005924"), (2000000000, "69279037"),
                                            (20000000000, "65353130")])
def test_totp_passes_rfc6238_sha1_vectors(unix, expected):
    """The TOTP check accepts the RFC 6238 appendix B codes (SHA-1, 8 digits) at their times."""
    at = dt.datetime.fromtimestamp(unix, dt.UTC)
    assert totp_match(RFC_SEED, expected, at, window=0, digits=8, digest=hashlib.sha1) == totp_step(at)
    assert totp_match(RFC_SEED, "00000000", at, window=0, digits=8, digest=hashlib.sha1) is None


def _ib_key(ctx, world):
    return world.secondary_device_id, pyotp.TOTP(world.secondary_seed)


def test_ib_key_code_accepted_once_then_refused_as_replay(ctx, world, agent):
    """A good TOTP code is accepted; the same code again is refused as already used."""
    device_id, totp = _ib_key(ctx, world)
    svc = VerificationService(ctx)
    code = totp.at(ctx.clock.now())
    svc.verify(agent, device_id, code)
    with pytest.raises(VerificationFailed, match="already used"):
        svc.verify(agent, device_id, code)


def test_ib_key_code_one_step_away_accepted_two_steps_refused(ctx, world, agent):
    """Codes within ±1 time step pass; older ones fail."""
    device_id, totp = _ib_key(ctx, world)
    svc = VerificationService(ctx)
    svc.verify(agent, device_id, totp.at(ctx.clock.now() - dt.timedelta(seconds=30)))
    with pytest.raises(VerificationFailed, match="not correct"):
        svc.verify(agent, device_id, totp.at(ctx.clock.now() - dt.timedelta(seconds=90)))


def test_full_width_digits_refused_without_counting(ctx, world, agent):
    """Full-width digits (which pyotp would accept) are refused as malformed and change nothing."""
    device_id, totp = _ib_key(ctx, world)
    code = totp.at(ctx.clock.now())
    wide = "".join(chr(ord(c) - ord("0") + 0xFF10) for c in code)
    with pytest.raises(InvalidInput, match="6 digits"):
        VerificationService(ctx).verify(agent, device_id, wide)
    with ctx.db.read() as s:
        assert s.get(SecurityDevice, device_id).failed_attempts == 0


def test_repeated_failures_lock_device_until_staff_unlock(ctx, world, agent):
    """After the configured count of wrong codes the device locks; even a good code is then refused."""
    device_id, totp = _ib_key(ctx, world)
    svc = VerificationService(ctx)
    for _ in range(4):
        with pytest.raises(VerificationFailed):
            svc.verify(agent, device_id, "000000" if totp.at(ctx.clock.now()) != "000000" else "111111")
    with pytest.raises(VerificationFailed, match="now locked"):
        svc.verify(agent, device_id, "000000" if totp.at(ctx.clock.now()) != "000000" else "111111")
    with pytest.raises(DeviceLocked):
        svc.verify(agent, device_id, totp.at(ctx.clock.now()))
    svc.unlock(agent, device_id, "client verified by security question")
    svc.verify(agent, device_id, totp.at(ctx.clock.now()))
    with ctx.db.read() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.device_id == device_id)))
    assert actions.count("device.code_refused") == 5
    assert "device.locked" in actions and "device.unlocked" in actions


def test_dsc_plus_response_checked_against_its_challenge_once(ctx, world, agent):
    """A DSC+ answers the 6-digit challenge with its HOTP response; the challenge cannot be reused."""
    with ctx.db.write() as s:
        device, seed = add_device(s, ctx, None, DeviceKind.dsc_plus, serial="DSC000000001")
        device_id = device.id
    svc = VerificationService(ctx)
    ch = svc.issue_challenge(agent, device_id)
    assert len(ch.number) == 6 and ch.number.isdigit()
    svc.verify(agent, device_id, dsc_response(seed, ch.number), challenge_id=ch.id)
    with pytest.raises(VerificationFailed, match="already answered"):
        svc.verify(agent, device_id, dsc_response(seed, ch.number), challenge_id=ch.id)


def test_card_values_checked_against_that_card_only(ctx, world, agent, box):
    """Card answers are the values at the two drawn positions of this card; another card's values fail."""
    values = {p: f"A{p % 10}{chr(65 + p % 26)}" for p in range(1, 101)}
    other = {p: f"Z{p % 10}{chr(66 + p % 24)}" for p in range(1, 101)}
    with ctx.db.write() as s:
        device, _ = add_device(s, ctx, None, DeviceKind.code_card, serial="CC1")
        store_card(s, box, device, values)
        device_id = device.id
    svc = VerificationService(ctx)
    ch = svc.issue_challenge(agent, device_id)
    a, b = ch.positions
    with pytest.raises(VerificationFailed, match=f"index numbers {a} and {b}"):
        svc.verify(agent, device_id, other[a] + other[b], challenge_id=ch.id)
    ch = svc.issue_challenge(agent, device_id)
    a, b = ch.positions
    svc.verify(agent, device_id, (values[a] + " " + values[b]).lower(), challenge_id=ch.id)


def test_malformed_answer_changes_nothing(ctx, world, agent):
    """Garbage input is refused with a clear message; no counter moves and no audit entry is written."""
    device_id, _ = _ib_key(ctx, world)
    with ctx.db.read() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    for bad in ("", "12345", "1234567", "abcdef", "12 34 56", "١٢٣٤٥٦"):
        with pytest.raises(InvalidInput):
            VerificationService(ctx).verify(agent, device_id, bad)
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before
        assert s.get(SecurityDevice, device_id).failed_attempts == 0
