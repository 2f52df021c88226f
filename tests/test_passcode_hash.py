"""Temporary passcodes resist offline guessing: with the stored hash and a desk's key file, each guess costs
Argon2id at the default cost (the test suite runs at a tiny cost, set in conftest.py)."""

from __future__ import annotations

import pytest

from console.models import passcode_hash as ph
from console.models import vault
from console.models.entities import SecurityDevice
from console.models.enums import DeviceKind
from console.models.errors import InvalidInput, VerificationFailed
from console.models.temporary_access import TemporaryAccessService
from console.models.verification import VerificationService
from tests.factories import add_device


def _issue(ctx, agent, world):
    return TemporaryAccessService(ctx).issue_temporary_passcode(agent, world.secondary_id, identity_verified=True)


def test_real_installs_hash_at_the_default_cost(ctx, agent, world, monkeypatch):
    """Without the test setting the cost is Argon2id t=2, m=19 MiB (OWASP's minimum), written in the salt;
    the passcode verifies at that cost."""
    monkeypatch.delenv(ph.COST_ENV)
    assert ph.DEFAULT_COST == ph.Cost(time_cost=2, memory_kib=19456, parallelism=1)
    issued = _issue(ctx, agent, world)
    with ctx.db.read() as s:
        assert ph.cost_of(s.get(SecurityDevice, issued.device_id).secret_salt) == ph.DEFAULT_COST
    assert VerificationService(ctx).verify(agent, issued.device_id, issued.passcode).access == "full"


def test_the_keyed_hash_alone_does_not_test_a_guess(ctx, agent, world, box):
    """Holding the look-up key (a desk's key file) is not enough: the right passcode through the fast keyed hash
    matches nothing; only the Argon2 step does."""
    issued = _issue(ctx, agent, world)
    with ctx.db.read() as s:
        d = s.get(SecurityDevice, issued.device_id)
        raw_salt = d.secret_salt[-16:]
        assert not vault.slot_matches(s, d, 1, box.lookup_hash(raw_salt, issued.passcode))
        assert not vault.slot_matches(s, d, 1, box.lookup_hash(d.secret_salt, issued.passcode))
        assert vault.slot_matches(s, d, 1, ph.passcode_hash(box, d.secret_salt, issued.passcode))


def test_a_passcode_from_before_still_verifies(ctx, agent, world, box):
    """A salt without a cost header is checked with the keyed hash alone (passcodes issued before, demo data)."""
    with ctx.db.write() as s:
        d, _ = add_device(s, ctx, None, DeviceKind.temporary_passcode)
        d.secret_salt = box.new_salt()
        vault.store_hashes(s, d, box.lookup_hash(d.secret_salt, "K7Q2M9XP"), vault.PASSCODE_SLOT_BYTES)
        device_id = d.id
    assert VerificationService(ctx).verify(agent, device_id, "K7Q2M9XP").access == "full"


def test_a_cost_no_console_writes_matches_nothing(ctx, agent, world):
    """A salt rewritten in the database with an enormous cost is refused at once, not computed."""
    issued = _issue(ctx, agent, world)
    with ctx.db.write() as s:
        d = s.get(SecurityDevice, issued.device_id)
        d.secret_salt = ph.new_salt(ph.Cost(time_cost=1, memory_kib=1 << 30, parallelism=1))
    with pytest.raises(VerificationFailed, match="not correct"):
        VerificationService(ctx).verify(agent, issued.device_id, issued.passcode)


def test_a_bad_cost_setting_is_refused(monkeypatch):
    for bad in ("fast", "1,2", "0,8,1", "1,4,1"):
        monkeypatch.setenv(ph.COST_ENV, bad)
        with pytest.raises(InvalidInput, match=ph.COST_ENV):
            ph.configured_cost()
