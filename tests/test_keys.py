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
    KeyFileError,
    KeyringKeyStore,
    default_store,
    keyring_available,
    unlock_box,
)
from console.models.sealing import (
    SealingError,
    SecretBox,
    current_key_id,
    device_context,
    key_id_of,
    sealed_key_id,
    staff_context,
)
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
    store._write(store.path, [TEST_KEY])
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


def sealed_ids(db) -> set[bytes]:
    """The key ids found on every sealed value in the database."""
    with db.read() as s:
        values = [*s.scalars(select(SecurityDevice.sealed_secret).where(SecurityDevice.sealed_secret.is_not(None))),
                  *s.scalars(select(StaffMember.sealed_totp_secret))]
    return {sealed_key_id(v) for v in values if v and not vault.is_server_sealed(v)}


def test_rotation_reseals_every_secret_and_keeps_hashes_valid(ctx, world, secrets_world, key_file, admin):
    """After a rotation the new key opens every seed and staff secret, the old key none and the store holds
    only the new key (the old one is retired: nothing uses it); card values and passcodes (hashes that
    cannot be recomputed) still match."""
    old_id = ctx.box.key_id
    result = KeyRotation(ctx).rotate(admin, key_file)
    new_box = ctx.box
    assert new_box.key_id != old_id and new_box.key_ids == {new_box.key_id}
    assert [key_id_of(k) for k in key_file.load()] == [new_box.key_id]
    assert result.retired == (old_id.hex(),) and sealed_ids(ctx.db) == {new_box.key_id}
    old_only = SecretBox(TEST_KEY)
    ids = secrets_world["ids"]
    # On PostgreSQL the seeds are in the server's vault, keyed by the look-up key, which rotation keeps.
    assert result.devices == (0 if not ctx.db.is_sqlite else 3) and result.staff == 1
    assert stored_seed(ctx, ids["dsc"]) == secrets_world["dsc_seed"]
    assert stored_seed(ctx, world.secondary_device_id) == world.secondary_seed
    with ctx.db.read() as s:
        ib = s.get(SecurityDevice, world.secondary_device_id)
        if ctx.db.is_sqlite:  # on PostgreSQL the seeds are sealed by the server's vault
            assert new_box.open(ib.sealed_secret, device_context(ib.id)).decode() == world.secondary_seed
            with pytest.raises(SealingError, match=f"master key {new_box.key_id.hex()}, which .* does not hold"):
                old_only.open(ib.sealed_secret, device_context(ib.id))
        member = s.scalars(select(StaffMember).where(StaffMember.username == "alex")).one()
        assert new_box.open(member.sealed_totp_secret, staff_context(member.id)).decode() == \
            secrets_world["staff"].totp_secret
        card = s.get(SecurityDevice, ids["card"])
        assert cards.value_matches(s, new_box, card, 7, secrets_world["values"][7])
        passcode = s.get(SecurityDevice, ids["passcode"])
        assert vault.slot_matches(s, passcode, 1, new_box.lookup_hash(passcode.secret_salt, "K7Q2-M9XP"))
        assert audit.verify(s).ok
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(3)))
        assert actions == ["key.rotated", "key.resealed", "key.added"]  # alex's secret: one staff batch


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
    assert len(key_file.load()) == 1


def test_value_no_key_opens_stops_the_rotation_before_any_change(ctx, world, secrets_world, key_file, admin):
    """A seed that no held key opens (here: sealed for another row) stops the rotation before the key store
    or the database changes."""
    with ctx.db.write() as s:
        ib = s.get(SecurityDevice, world.secondary_device_id)
        ib.sealed_secret = ctx.box.seal(s, b"X" * 32, device_context(ib.id + 1000))
    with ctx.db.read() as s:
        before = {d.id: (d.sealed_secret, d.version) for d in s.scalars(select(SecurityDevice))}
        count = audit.verify(s).count
    held = ctx.box.key_ids
    with pytest.raises(SealingError, match=f"devices row {world.secondary_device_id} does not open"):
        KeyRotation(ctx).rotate(admin, key_file)
    with ctx.db.read() as s:
        assert {d.id: (d.sealed_secret, d.version) for d in s.scalars(select(SecurityDevice))} == before
        assert audit.verify(s).count == count
    assert ctx.box.key_ids == held and key_file.load() == [TEST_KEY]


def test_rotation_stopped_half_way_loses_nothing_and_finishes_when_run_again(ctx, db, world, secrets_world,
                                                                               key_file, admin, monkeypatch):
    """Stopped after the new key became current (a crash, a lost connection), both keys stay in the store,
    every value opens on the next start, and the old key is not retired; a second rotation finishes."""
    def dies(*args, **kwargs):
        raise OSError("connection lost")

    monkeypatch.setattr(KeyRotation, "_reseal_all", dies)
    with pytest.raises(OSError):
        KeyRotation(ctx).rotate(admin, key_file)
    monkeypatch.undo()
    assert len(key_file.load()) == 2 and sealed_ids(db) == {SecretBox(TEST_KEY).key_id}
    with db.read() as s:
        assert current_key_id(s) == key_id_of(key_file.load()[1])  # new seals at every desk use the new key
    box = unlock_box(db, key_file)
    ctx.box = box
    assert stored_seed(ctx, world.secondary_device_id) == world.secondary_seed  # PostgreSQL: the vault's
    with db.read() as s:
        member = s.scalars(select(StaffMember).where(StaffMember.username == "alex")).one()
        assert box.open(member.sealed_totp_secret, staff_context(member.id)).decode() == \
            secrets_world["staff"].totp_secret
    result = KeyRotation(ctx).rotate(admin, key_file)
    assert len(result.retired) == 2 and len(key_file.load()) == 1
    assert sealed_ids(db) == {ctx.box.key_id}


def test_key_the_database_never_adopted_is_harmless(ctx, db, world, secrets_world, key_file):
    """A key added to the store by a rotation whose database step failed is not used for sealing."""
    unlock_box(db, key_file)  # records the current key in the database
    key_file.add(os.urandom(32))
    box = unlock_box(db, key_file)
    assert box.key_id == SecretBox(TEST_KEY).key_id and len(box.key_ids) == 2


def test_key_file_left_by_an_older_console_mid_rotation_still_opens(ctx, db, world, secrets_world, key_file, admin):
    """An older console kept the next key in `master.key.new` until the rotation finished: still read."""
    KeyRotation(ctx).rotate(admin, key_file)
    new_key = key_file.load()[0]
    key_file._write(key_file.path, [TEST_KEY])
    key_file._write(key_file.legacy_pending_path, [new_key])
    assert unlock_box(db, key_file).key_id == key_id_of(new_key)


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
    assert key_file.load() == [TEST_KEY]


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
    """With a keyring backend, the keys live there: a second one during a rotation, then only the new."""
    store = KeyringKeyStore()
    key = store.create()
    assert store.load() == [key]
    store.add(b"\x01" * 32)
    assert store.load() == [key, b"\x01" * 32]
    store.keep_only({key_id_of(b"\x01" * 32)})
    assert store.load() == [b"\x01" * 32]


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


def _key_file_with(tmp_path, content: bytes, mode: int = 0o600):
    path = tmp_path / "desk" / "master.key"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_others_can_read_is_refused_naming_the_fix(tmp_path, mode):
    """A key file readable (or writable) by group or others is refused, with the command that fixes it."""
    path = _key_file_with(tmp_path, base64.urlsafe_b64encode(TEST_KEY), mode)
    with pytest.raises(KeyFileError) as refused:
        FileKeyStore(path).load()
    assert f"`chmod 600 {path}`" in str(refused.value) and str(refused.value).count(". ") <= 1


@pytest.mark.parametrize("content,what", [
    (b"", "is empty"),
    (b"\n\n", "is empty"),
    (base64.urlsafe_b64encode(TEST_KEY)[:20], "damaged"),  # truncated
    (b"not a key at all", "damaged"),
    (b"\x00\xff\xfe" * 20, "damaged"),  # binary junk
    (base64.urlsafe_b64encode(TEST_KEY) + b"\n" + b"x" * 44, "key 2 is not 32 bytes"),
])
def test_junk_or_truncated_key_file_gives_one_clear_sentence(tmp_path, content, what):
    """A damaged key file is named with what is wrong and what to do, never a decoding error."""
    path = _key_file_with(tmp_path, content)
    with pytest.raises(KeyFileError, match=what) as refused:
        FileKeyStore(path).load()
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


def test_key_file_with_two_keys_is_read_in_order(tmp_path):
    """During a rotation the file holds the old key then the new one, one per line."""
    other = os.urandom(32)
    path = _key_file_with(tmp_path, base64.urlsafe_b64encode(TEST_KEY) + b"\n" + base64.urlsafe_b64encode(other))
    assert FileKeyStore(path).load() == [TEST_KEY, other]


def test_environment_may_hold_two_keys_during_a_rotation(monkeypatch):
    """An operator who keeps keys in the environment lists the old and the new key while desks move over."""
    other = os.urandom(32)
    monkeypatch.setenv(KEY_ENV, f"{base64.urlsafe_b64encode(TEST_KEY).decode()},"
                                f"{base64.urlsafe_b64encode(other).decode()}")
    assert EnvKeyStore().load() == [TEST_KEY, other]


def test_new_sqlite_database_file_is_owner_only(tmp_path):
    """A new database file (and the WAL beside it) holds client data: readable by its owner only."""
    from console.models.db import Database
    from console.models.schema import upgrade

    database = Database(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    upgrade(database)
    with database.write() as s:
        s.execute(select(1))
    assert stat.S_IMODE((tmp_path / "new.sqlite3").stat().st_mode) == 0o600
    for extra in tmp_path.glob("new.sqlite3-*"):
        assert stat.S_IMODE(extra.stat().st_mode) == 0o600, extra
    database.dispose()


def test_another_desk_without_the_new_key_is_refused_and_writes_nothing(ctx, db, world, tmp_path, admin,
                                                                        staff_service):
    """A desk whose key store never received the rotated key (another machine) refuses to seal, naming the
    key to copy; nothing is written. It still opens nothing new, rather than sealing with a retired key."""
    shared = FileKeyStore(tmp_path / "a" / "master.key")
    shared._write(shared.path, [TEST_KEY])
    elsewhere = FileKeyStore(tmp_path / "b" / "master.key")
    elsewhere._write(elsewhere.path, [TEST_KEY])
    ctx.box = unlock_box(db, shared)
    desk_b = unlock_box(db, elsewhere)
    result = KeyRotation(ctx).rotate(admin, shared)
    with db.write() as s, pytest.raises(SealingError, match=f"seals with master key {result.new_key_id}.*does not "
                                                             f"hold it"):
        desk_b.seal(s, b"seed", device_context(1))
    with pytest.raises(SealingError, match=f"holds key {SecretBox(TEST_KEY).key_id.hex()}"):
        unlock_box(db, elsewhere)


def test_desk_sharing_the_store_follows_a_rotation_made_elsewhere(ctx, db, world, key_file, admin):
    """Two consoles on one key store: after one rotates, the other seals with the new key at its next seal
    and opens values sealed by either."""
    ctx.box = unlock_box(db, key_file)
    other_desk = unlock_box(db, key_file)
    KeyRotation(ctx).rotate(admin, key_file)
    with db.write() as s:
        sealed = other_desk.seal(s, b"new seed", device_context(world.secondary_device_id))
    assert sealed_key_id(sealed) == ctx.box.key_id
    assert ctx.box.open(sealed, device_context(world.secondary_device_id)) == b"new seed"


def test_rotation_stopped_after_the_staff_batch_leaves_the_audit_trail_clean(ctx, db, world, secrets_world,
                                                                              key_file, admin, monkeypatch):
    """Staff secrets re-sealed by a batch that committed are recorded with their new states, so a rotation
    stopped right after it does not make `audit verify` name every staff member."""
    original = KeyRotation._reseal_all

    def staff_then_dies(self, actor, box, entity, *rest):
        done = original(self, actor, box, entity, *rest)
        if entity is StaffMember:
            raise OSError("connection lost")
        return done

    monkeypatch.setattr(KeyRotation, "_reseal_all", staff_then_dies)
    with pytest.raises(OSError):
        KeyRotation(ctx).rotate(admin, key_file)
    with db.read() as s:
        member = s.scalars(select(StaffMember).where(StaffMember.username == "alex")).one()
        assert sealed_key_id(member.sealed_totp_secret) == key_id_of(key_file.load()[1])
        assert audit.verify(s).ok
