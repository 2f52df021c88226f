"""Rotating the master key while another desk (a real process) keeps sealing: that desk follows the new key
at once, nothing sealed meanwhile is lost, and the old key is retired only when nothing uses it. CI runs
this on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyotp
from sqlalchemy import select

from console.app import open_context
from console.models import vault
from console.models.entities import SecurityDevice, StaffMember
from console.models.enums import StaffRole
from console.models.key_rotation import KeyRotation
from console.models.keys import FileKeyStore, unlock_box
from console.models.sealing import device_context, staff_context
from tests.seeds import stored_seed
from tests.sessions import signed_in

ROOT = Path(__file__).resolve().parent.parent


def _lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _wait_for_more(log: Path, desk: subprocess.Popen, seen: int, more: int = 4, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while len(_lines(log)) < seen + more:
        assert desk.poll() is None, desk.communicate()[1]
        assert time.monotonic() < deadline, f"the sealing desk made {len(_lines(log)) - seen} seals in {timeout} s"
        time.sleep(0.05)
    return len(_lines(log))


def test_rotation_while_another_desk_seals_loses_nothing(db, tmp_path, monkeypatch):
    """Desk B receives DSC+ cards and adds staff without pause while desk A rotates the key twice. Every
    seed and staff secret B sealed opens afterwards with the one key left in the key file, B was never
    refused, and every sealed value carries that key's id."""
    key_path = tmp_path / "master.key"
    monkeypatch.setenv("SLS_CONSOLE_KEY_FILE", str(key_path))
    monkeypatch.delenv("SLS_CONSOLE_KEY", raising=False)
    ctx = open_context(db.url, migrate=False)  # creates the key file and records its key in the database
    admin = signed_in(ctx, "admin01", "Alex Admin", StaffRole.administrator)
    log, stop = tmp_path / "sealed.jsonl", tmp_path / "stop"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    desk = subprocess.Popen([sys.executable, "-m", "tests.sealing_desk", db.url, str(log), str(stop)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = _wait_for_more(log, desk, 0)
        rotations = []
        for _ in range(2):
            rotations.append(KeyRotation(ctx).rotate(admin, FileKeyStore(key_path)))
            seen = _wait_for_more(log, desk, seen)
        stop.touch()
        _, err = desk.communicate(timeout=60)
    finally:
        if desk.poll() is None:
            desk.kill()
            desk.communicate()
    assert desk.returncode == 0, err
    made = _lines(log)
    assert [m for m in made if m["kind"] == "refused"] == []
    final = unlock_box(db, FileKeyStore(key_path))
    assert final.key_id.hex() == rotations[-1].new_key_id
    with db.read() as s:
        serials = [m["serial"] for m in made if m["kind"] == "device"]
        devices = s.scalars(select(SecurityDevice).where(SecurityDevice.serial.in_(serials))).all()
        assert len(devices) == len(serials) >= 4
        for device in devices:  # on PostgreSQL the seeds are in the server's vault, which rotation skips
            if not vault.is_server_sealed(device.sealed_secret):
                assert len(final.open(device.sealed_secret, device_context(device.id))) == 32
            else:
                assert len(stored_seed(ctx, device.id)) == 32
        for m in (m for m in made if m["kind"] == "staff"):
            member = s.scalars(select(StaffMember).where(StaffMember.username == m["username"])).one()
            assert final.open(member.sealed_totp_secret, staff_context(member.id)).decode() == m["secret"]
            assert pyotp.TOTP(m["secret"]).now()  # a usable authenticator secret
        every = [*s.scalars(select(SecurityDevice.sealed_secret).where(SecurityDevice.sealed_secret.is_not(None))),
                 *s.scalars(select(StaffMember.sealed_totp_secret).where(StaffMember.sealed_totp_secret.is_not(None)))]
    assert {v[1:5].hex() for v in every if not vault.is_server_sealed(v)} == {final.key_id.hex()}
    assert len(key_path.read_text().split()) == 1  # both old keys retired
