"""The master key outside the database, and its rotation: every sealed secret re-sealed, hashes still valid."""

import base64
import os
import stat

import keyring
import pyotp
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from sqlalchemy import select

from console.models import audit, cards, vault
from console.models.entities import AuditEntry, SecurityDevice, StaffMember
from console.models.enums import DeviceKind, DeviceState
from console.models.errors import PermissionDenied, RuleViolation
from console.models.key_rotation import KeyRotation
from console.models.keys import (
    KEY_ENV,
    KEY_FILE_ENV,
    EnvKeyStore,
    FileKeyStore,
    KeyringKeyStore,
    default_store,
    keyring_available,
    unlock_box,
)
from console.models.sealing import SealingError, SecretBox, device_context, staff_context
from tests.conftest import TEST_KEY
from tests.factories import add_device
from tests.seeds import stored_seed


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self):
        super().__init__()
        self.items = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        if self.items.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def key_file(tmp_path):
    store = FileKeyStore(tmp_path / "config" / "master.key")
    store._write(store.path, TEST_KEY)
    return store


@pytest.fixture
def secrets_world(ctx, world, staff_service):
    """A DSC+ with a seed, a code card and a temporary passcode (hashes), and a staff member."""
    values = cards.new_card_values(20)
    with ctx.db.write() as s:
        dsc, dsc_seed = add_device(s, ctx, None, DeviceKind.dsc_plus, DeviceState.in_stock, serial="DSC-0001")
        card, _ = add_device(s, ctx, None, DeviceKind.code_card, DeviceState.in_stock, serial="CARD-0001")
        cards.store_card(s, ctx.box, card, values)
        passcode, _ = add_device(s, ctx, None, DeviceKind.temporary_passcode, DeviceState.active)
        passcode.secret_salt = ctx.box.new_salt()
        vault.store_hashes(s, passcode, ctx.box.lookup_hash(passcode.secret_salt, "K7Q2-M9XP"),
                           vault.PASSCODE_SLOT_BYTES)
        ids = {"dsc": dsc.id, "card": card.id, "passcode": passcode.id}
    staff = staff_service.add_first_administrator("alex", "Alex Admin", "correct horse battery")
    return {"ids": ids, "dsc_seed": dsc_seed, "values": values, "staff": staff}


def test_rotation_reseals_every_secret_and_keeps_hashes_valid(ctx, world, secrets_world, key_file, admin):
    """After a rotation the new key opens every seed and staff secret, the old key none; card values and
    passcodes (hashes that cannot be recomputed) still match."""
    old_box = ctx.box
    result = KeyRotation(ctx).rotate(admin, key_file)
    new_box = ctx.box
    assert new_box.key_id != old_box.key_id and key_file.load() != TEST_KEY
    ids = secrets_world["ids"]
    # On PostgreSQL the seeds are in the server's vault, keyed by the look-up key, which rotation keeps.
    assert result.devices == (0 if not ctx.db.is_sqlite else 3) and result.staff == 1
    assert stored_seed(ctx, ids["dsc"]) == secrets_world["dsc_seed"]
    assert stored_seed(ctx, world.secondary_device_id) == world.secondary_seed
    with ctx.db.read() as s:
        ib = s.get(SecurityDevice, world.secondary_device_id)
        if ctx.db.is_sqlite:
            with pytest.raises(SealingError, match="another key"):
                old_box.open(ib.sealed_secret, device_context(ib.id))
        member = s.scalars(select(StaffMember).where(StaffMember.username == "alex")).one()
        assert new_box.open(member.sealed_totp_secret, staff_context(member.id)).decode() == \
            secrets_world["staff"].totp_secret
        card = s.get(SecurityDevice, ids["card"])
        assert cards.value_matches(s, new_box, card, 7, secrets_world["values"][7])
        passcode = s.get(SecurityDevice, ids["passcode"])
        assert vault.slot_matches(s, passcode, 1, new_box.lookup_hash(passcode.secret_salt, "K7Q2-M9XP"))
        assert audit.verify(s).ok
        assert s.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc())).first() == "key.rotated"


def test_console_restarted_after_rotation_opens_with_the_new_key(ctx, db, world, secrets_world, key_file, admin,
                                                                staff_service, clock):
    """A console started afterwards finds the new key, the carried-forward look-up key, and signs staff in."""
    KeyRotation(ctx).rotate(admin, key_file)
    reopened = unlock_box(db, FileKeyStore(key_file.path))
    assert reopened.key_id == ctx.box.key_id and reopened.lookup_key == ctx.box.lookup_key
    ctx.box = reopened
    code = pyotp.TOTP(secrets_world["staff"].totp_secret).at(clock.now())
    assert staff_service.sign_in("alex", "correct horse battery", code).username == "alex"


def test_rotation_twice_keeps_hashes_valid(ctx, world, secrets_world, key_file, admin):
    """The look-up key is carried forward through any number of rotations."""
    KeyRotation(ctx).rotate(admin, key_file)
    KeyRotation(ctx).rotate(admin, key_file)
    with ctx.db.read() as s:
        passcode = s.get(SecurityDevice, secrets_world["ids"]["passcode"])
        assert vault.slot_matches(s, passcode, 1, ctx.box.lookup_hash(passcode.secret_salt, "K7Q2-M9XP"))


def test_failed_rotation_changes_nothing(ctx, world, secrets_world, key_file, admin, monkeypatch):
    """A rotation that fails part-way leaves the database, the key file and the box as they were."""
    with ctx.db.write() as s:  # a seed sealed for another row cannot be opened: the rotation must stop
        ib = s.get(SecurityDevice, world.secondary_device_id)
        ib.sealed_secret = ctx.box.seal(b"X" * 32, device_context(ib.id + 1000))
    with ctx.db.read() as s:
        before = {d.id: (d.sealed_secret, d.version) for d in s.scalars(select(SecurityDevice))}
        count = audit.verify(s).count
    old_box = ctx.box
    with pytest.raises(SealingError, match=f"devices row {world.secondary_device_id} does not open"):
        KeyRotation(ctx).rotate(admin, key_file)
    with ctx.db.read() as s:
        assert {d.id: (d.sealed_secret, d.version) for d in s.scalars(select(SecurityDevice))} == before
        assert audit.verify(s).count == count
    assert ctx.box is old_box and key_file.load() == TEST_KEY and key_file.load_pending() is None


def test_interrupted_rotation_finished_on_next_start(ctx, db, world, secrets_world, key_file, admin, monkeypatch):
    """If the process dies after the commit but before the new key replaces the old, the next start
    promotes the pending key (the database records which key sealed it)."""
    monkeypatch.setattr(FileKeyStore, "promote_pending", lambda self: None)
    KeyRotation(ctx).rotate(admin, key_file)
    new_id = ctx.box.key_id
    assert key_file.load() == TEST_KEY and key_file.load_pending() is not None
    monkeypatch.undo()
    box = unlock_box(db, key_file)
    assert box.key_id == new_id and key_file.load_pending() is None and SecretBox(key_file.load()).key_id == new_id


def test_rolled_back_rotation_discards_the_pending_key_on_next_start(ctx, db, world, key_file):
    """A pending key the database never adopted is thrown away; the current key stays."""
    unlock_box(db, key_file)  # records the current key in the database
    key_file.save_pending(os.urandom(32))
    assert unlock_box(db, key_file).key_id == SecretBox(TEST_KEY).key_id
    assert key_file.load_pending() is None


def test_wrong_key_refused_with_clear_message(ctx, db, world, tmp_path, staff_service):
    """A console given another key says so, rather than failing on the first seed it opens."""
    # A staff secret sealed with the key (device seeds on PostgreSQL are in the server's vault instead).
    staff_service.add_first_administrator("alex", "Alex Admin", "correct horse battery")
    other = FileKeyStore(tmp_path / "other.key")
    other.create()
    with pytest.raises(SealingError, match="sealed with key .* holds key"):
        unlock_box(db, other)


def test_only_administrators_rotate(ctx, world, key_file, agent, back_office, auditor):
    """Rotating the key is an administrator's act."""
    for actor in (agent, back_office, auditor):
        with pytest.raises(PermissionDenied, match="rotate the master key"):
            KeyRotation(ctx).rotate(actor, key_file)
    assert key_file.load_pending() is None


def test_environment_key_cannot_be_rotated_by_the_console(ctx, world, admin, monkeypatch):
    """A key given in the environment is the operator's: the console refuses and says where to rotate it."""
    monkeypatch.setenv(KEY_ENV, base64.urlsafe_b64encode(TEST_KEY).decode())
    with pytest.raises(RuleViolation, match="SLS_CONSOLE_KEY"):
        KeyRotation(ctx).rotate(admin, EnvKeyStore())


def test_key_file_is_owner_only(tmp_path):
    """A new key file is readable by its owner only."""
    store = FileKeyStore(tmp_path / "k" / "master.key")
    store.create()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    with pytest.raises(SealingError, match="will not overwrite"):
        store.create()


def test_keyring_store_round_trip(memory_keyring):
    """With a keyring backend, the key and a pending key live there."""
    store = KeyringKeyStore()
    key = store.create()
    assert store.load() == key
    store.save_pending(b"\x01" * 32)
    store.promote_pending()
    assert store.load() == b"\x01" * 32 and store.load_pending() is None


def test_no_keyring_backend_falls_back_to_key_file(monkeypatch, tmp_path):
    """keyring's 'fail' backend (no Secret Service, headless) means: use the owner-only key file."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        monkeypatch.delenv(KEY_ENV, raising=False)
        monkeypatch.delenv(KEY_FILE_ENV, raising=False)
        monkeypatch.setattr("console.models.keys.default_key_file", lambda: tmp_path / "master.key")
        assert not keyring_available()
        assert isinstance(default_store(), FileKeyStore)
    finally:
        keyring.set_keyring(previous)


def test_store_choice_env_then_file_then_keyring(monkeypatch, tmp_path, memory_keyring):
    """The environment wins; then an explicit or existing key file; then a working keyring."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.delenv("SLS_CONSOLE_NO_KEYRING", raising=False)
    monkeypatch.setattr("console.models.keys.default_key_file", lambda: tmp_path / "master.key")
    assert isinstance(default_store(), KeyringKeyStore)
    (tmp_path / "master.key").write_text(base64.urlsafe_b64encode(TEST_KEY).decode())
    assert isinstance(default_store(), FileKeyStore)
    monkeypatch.setenv(KEY_ENV, base64.urlsafe_b64encode(TEST_KEY).decode())
    assert isinstance(default_store(), EnvKeyStore)


def test_missing_key_for_sealed_database_creates_nothing(ctx, db, world, tmp_path, staff_service):
    """A database with sealed secrets and no key anywhere: a clear refusal, and no new key file is made."""
    staff_service.add_first_administrator("alex", "Alex Admin", "correct horse battery")  # as above
    store = FileKeyStore(tmp_path / "absent" / "master.key")
    with pytest.raises(SealingError, match="no master key was found"):
        unlock_box(db, store)
    assert not store.path.exists()
