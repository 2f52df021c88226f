"""Where the master keys live outside the database (environment, OS keyring, owner-only file) and how a
console opens its secret box against a database: every key the store holds, sealing with the one the
database records as current."""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.models.clock import Clock, SystemClock
from console.models.db import Database
from console.models.entities import SecurityDevice, Setting, StaffMember
from console.models.sealing import (
    LOOKUP_KEY_CONTEXT,
    LOOKUP_SETTING,
    SealingError,
    SecretBox,
    forget_current_key,
    key_id_of,
    sealed_key_id,
)
from console.models.vault import SERVER_MARK_BYTE

KEY_ENV = "SLS_CONSOLE_KEY"
KEY_FILE_ENV = "SLS_CONSOLE_KEY_FILE"

NO_KEYRING_ENV = "SLS_CONSOLE_NO_KEYRING"
KEYRING_SERVICE = "sls-console"
KEYRING_NAME = "master-key"
_LEGACY_PENDING = ".pending"  # where an older console kept the next key during a rotation


class KeyFileError(SealingError):
    """A key store that cannot be used as it is (readable by others, damaged): one sentence with the fix."""


def _decode_ring(text: str, where: str) -> list[bytes]:
    """Keys one per line (or separated by spaces or commas), oldest first; a single key is a ring of one."""
    keys = []
    words = [w for w in re.split(r"[\s,]+", text.strip()) if w]
    for number, word in enumerate(words, start=1):
        try:
            key = base64.urlsafe_b64decode(word.encode("ascii", "strict"))
        except (ValueError, UnicodeEncodeError):
            key = b""
        if len(key) != 32:
            which = f"key {number} is" if len(words) > 1 else "it is"
            raise KeyFileError(f"The master key in {where} is damaged ({which} not 32 bytes in URL-safe base64); "
                               f"restore it from your backup or from another desk. Nothing was changed.")
        keys.append(key)
    return keys


def _encode_ring(keys: Sequence[bytes]) -> str:
    return "\n".join(base64.urlsafe_b64encode(k).decode() for k in keys) + "\n"


def _without_duplicates(keys: Sequence[bytes]) -> list[bytes]:
    return list(dict.fromkeys(keys))


class KeyStore(Protocol):
    """Where this desk keeps its master keys: the current one and any not yet retired, oldest first."""

    can_rotate: bool

    def describe(self) -> str: ...
    def load(self) -> list[bytes]: ...
    def create(self) -> bytes: ...
    def add(self, key: bytes) -> None: ...
    def keep_only(self, key_ids: set[bytes]) -> None: ...


class EnvKeyStore:
    """The keys given in $SLS_CONSOLE_KEY (several separated by spaces or commas during a rotation).
    Read-only: the operator owns the variable."""

    can_rotate = False

    def describe(self) -> str:
        return f"the environment variable {KEY_ENV}"

    def load(self) -> list[bytes]:
        value = os.environ.get(KEY_ENV)
        return _decode_ring(value, self.describe()) if value else []

    def create(self) -> bytes:
        raise SealingError(f"{KEY_ENV} is empty; set it to 32 random bytes in URL-safe base64.")

    def add(self, key: bytes) -> None:
        raise SealingError(f"The master key comes from {KEY_ENV}, which the console cannot change. Unset it so "
                           f"the key moves to the keyring or key file, or rotate where the variable is set.")

    def keep_only(self, key_ids: set[bytes]) -> None:
        pass


def check_owner_only(path: Path) -> None:
    """Refuse a key file that other users can read or write, naming the command that fixes it."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"The key file {path} can be read or changed by other users (mode {mode:04o}); run "
                           f"`chmod 600 {path}` and try again.")


class FileKeyStore:
    """An owner-only (0600) key file holding one key per line, oldest first; during a rotation it holds the
    old key and the new one, afterwards only the new one."""

    can_rotate = True

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.legacy_pending_path = self.path.with_name(self.path.name + ".new")

    def describe(self) -> str:
        return f"the key file {self.path}"

    def _read(self, path: Path) -> list[bytes]:
        try:
            if not path.exists():
                return []
            check_owner_only(path)
            data = path.read_bytes()
        except IsADirectoryError:
            raise KeyFileError(f"The key file {path} is a folder, not a file; point {KEY_FILE_ENV} at the key "
                               f"file itself.") from None
        except PermissionError:
            raise KeyFileError(f"The key file {path} cannot be read by this user; run the console as the user "
                               f"who owns it, or `chown` it to this user.") from None
        except OSError as exc:
            raise KeyFileError(f"The key file {path} cannot be read ({exc.strerror}); restore it from your "
                               f"backup.") from None
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            text = "\x00"  # not base64 text at all: reported as damaged below
        keys = _decode_ring(text, str(path))
        if not keys:
            raise KeyFileError(f"The key file {path} is empty; restore it from your backup or from another desk "
                               f"(or delete it to start a new database with a new key). Nothing was changed.")
        return keys

    def _write(self, path: Path, keys: Sequence[bytes]) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(_encode_ring(keys))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def load(self) -> list[bytes]:
        keys = self._read(self.path)
        if self.legacy_pending_path.exists():  # an older console's interrupted rotation: still a key to try
            keys = _without_duplicates(keys + self._read(self.legacy_pending_path))
        return keys

    def create(self) -> bytes:
        if self.path.exists():
            raise SealingError(f"{self.describe()} already exists; the console will not overwrite a key.")
        key = secrets.token_bytes(32)
        self._write(self.path, [key])
        return key

    def add(self, key: bytes) -> None:
        self._write(self.path, _without_duplicates([*self.load(), key]))

    def keep_only(self, key_ids: set[bytes]) -> None:
        self._write(self.path, [k for k in self.load() if key_id_of(k) in key_ids])
        self.legacy_pending_path.unlink(missing_ok=True)


class KeyringKeyStore:
    """The OS keyring (Keychain, Windows Credential Locker, Secret Service) via the `keyring` package: one
    entry holding the keys separated by spaces, oldest first."""

    can_rotate = True

    def __init__(self, service: str = KEYRING_SERVICE, name: str = KEYRING_NAME) -> None:
        import keyring

        self._keyring = keyring
        self.service, self.name, self.legacy_pending_name = service, name, name + _LEGACY_PENDING

    def describe(self) -> str:
        return f"the OS keyring (service {self.service!r})"

    def _get(self, name: str) -> list[bytes]:
        value = self._keyring.get_password(self.service, name)
        return _decode_ring(value, self.describe()) if value else []

    def _set(self, keys: Sequence[bytes]) -> None:
        self._keyring.set_password(self.service, self.name, _encode_ring(keys).replace("\n", " ").strip())

    def load(self) -> list[bytes]:
        return _without_duplicates(self._get(self.name) + self._get(self.legacy_pending_name))

    def create(self) -> bytes:
        key = secrets.token_bytes(32)
        self._set([key])
        return key

    def add(self, key: bytes) -> None:
        self._set(_without_duplicates([*self.load(), key]))

    def keep_only(self, key_ids: set[bytes]) -> None:
        self._set([k for k in self.load() if key_id_of(k) in key_ids])
        try:
            self._keyring.delete_password(self.service, self.legacy_pending_name)
        except self._keyring.errors.PasswordDeleteError:
            pass


def default_key_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("sls-console", "SLS")) / "master.key"


def keyring_available() -> bool:
    """True when a real keyring backend answers; False (never an error) when there is none, e.g. on a
    headless Linux without a Secret Service, where keyring falls back to its 'fail' backend."""
    if os.environ.get(NO_KEYRING_ENV):
        return False
    try:
        import keyring

        backend = keyring.get_keyring()
        if getattr(backend, "priority", 0) <= 0:
            return False
        keyring.get_password(KEYRING_SERVICE, "probe")
        return True
    except Exception:  # noqa: BLE001 - any backend failure means "no usable keyring", not a crash
        return False


def default_store() -> KeyStore:
    """$SLS_CONSOLE_KEY, else $SLS_CONSOLE_KEY_FILE, else an existing default key file, else the OS keyring
    when one works, else a new owner-only key file in the user's config directory."""
    if os.environ.get(KEY_ENV):
        return EnvKeyStore()
    if os.environ.get(KEY_FILE_ENV):
        return FileKeyStore(os.environ[KEY_FILE_ENV])
    file_store = FileKeyStore(default_key_file())
    if file_store.path.exists():
        return file_store
    if keyring_available():
        return KeyringKeyStore()
    return file_store


def read_lookup_row(session: Session) -> bytes | None:
    row = session.get(Setting, LOOKUP_SETTING)
    return base64.b64decode(row.value) if row else None


def write_lookup_row(session: Session, box: SecretBox, key_id: bytes, at: dt.datetime, by: str) -> None:
    """Seal the look-up key under `key_id`, which makes that key the database's current one."""
    value = base64.b64encode(box.seal_with(key_id, box.lookup_key, LOOKUP_KEY_CONTEXT)).decode()
    row = session.get(Setting, LOOKUP_SETTING)
    if row is None:
        session.add(Setting(key=LOOKUP_SETTING, value=value, updated_at=at, updated_by=by))
    else:
        row.value, row.updated_at, row.updated_by = value, at, by
    forget_current_key(session)


def _first_sealed_key_id(session: Session) -> bytes | None:
    for column in (StaffMember.sealed_totp_secret, SecurityDevice.sealed_secret):
        # Seeds in the PostgreSQL vault are sealed by the server, not with a master key (vault.py).
        sealed = session.scalars(select(column).where(column.is_not(None),
                                                      func.substr(column, 1, 1) != SERVER_MARK_BYTE).limit(1)).first()
        if sealed:
            return sealed_key_id(sealed)
    return None


def _ids(keys: Sequence[bytes]) -> str:
    return ("key " + ", ".join(key_id_of(k).hex() for k in keys)) if keys else "no key"


def unlock_box(db: Database, store: KeyStore, clock: Clock | None = None) -> SecretBox:
    """The secret box for this database: every key the store holds, sealing with the one the database
    records as current. A store without that key is refused (it names the key to copy)."""
    clock = clock or SystemClock()
    keys = store.load()
    held = {key_id_of(k): k for k in keys}
    with db.read() as s:
        sealed_lookup = read_lookup_row(s)
        first_id = _first_sealed_key_id(s) if sealed_lookup is None else None
    if sealed_lookup is not None:
        wanted = sealed_key_id(sealed_lookup)
        if wanted not in held:
            raise SealingError(f"This database's secrets are sealed with key {wanted.hex()}, but "
                               f"{store.describe()} holds {_ids(keys)}. Copy the key from the desk that last "
                               f"rotated it, or restore it; nothing was changed.")
        lookup = SecretBox(held[wanted]).open(sealed_lookup, LOOKUP_KEY_CONTEXT)
        return SecretBox(held[wanted], lookup, others=keys, reload=store.load, where=store.describe())
    if not keys and first_id is not None:
        raise SealingError(f"This database holds secrets sealed with key {first_id.hex()}, but no master key was "
                           f"found ({store.describe()}). Restore the key; nothing was changed.")
    if first_id is not None and first_id not in held:
        raise SealingError(f"This database's secrets are sealed with key {first_id.hex()}, but "
                           f"{store.describe()} holds {_ids(keys)}. Restore the right key; nothing was changed.")
    master = held[first_id] if first_id is not None else (keys[-1] if keys else store.create())
    box = SecretBox(master, others=keys, reload=store.load, where=store.describe())
    # Record which key seals this database, so every desk (and a later rotation) can tell.
    with db.write() as s:
        if read_lookup_row(s) is None:
            write_lookup_row(s, box, box.key_id, clock.now(), "system")
    return box
