"""Where the master key lives outside the database (environment, OS keyring, owner-only file) and how a
console opens its secret box against a database, finishing or discarding a half-done key rotation."""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.models.clock import Clock, SystemClock
from console.models.db import Database
from console.models.entities import SecurityDevice, Setting, StaffMember
from console.models.sealing import LOOKUP_KEY_CONTEXT, SealingError, SecretBox, key_id_of
from console.models.vault import SERVER_MARK_BYTE

KEY_ENV = "SLS_CONSOLE_KEY"
KEY_FILE_ENV = "SLS_CONSOLE_KEY_FILE"

NO_KEYRING_ENV = "SLS_CONSOLE_NO_KEYRING"
KEYRING_SERVICE = "sls-console"
KEYRING_NAME = "master-key"
# The settings row holding the look-up key sealed under the current master key. Not a figure: the
# settings screen and exports must leave it alone (load_figures ignores keys it does not know).
LOOKUP_SETTING = "sealed_lookup_key"


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise SealingError(f"The master key in {where} is damaged (it must hold 32 bytes in URL-safe base64).")
    return key


def _encode(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


class KeyStore(Protocol):
    """A place for the master key, and for the next one while a rotation is under way."""

    can_rotate: bool

    def describe(self) -> str: ...
    def load(self) -> bytes | None: ...
    def create(self) -> bytes: ...
    def load_pending(self) -> bytes | None: ...
    def save_pending(self, key: bytes) -> None: ...
    def promote_pending(self) -> None: ...
    def discard_pending(self) -> None: ...


class EnvKeyStore:
    """The key given in $SLS_CONSOLE_KEY. Read-only: the operator owns the variable."""

    can_rotate = False

    def describe(self) -> str:
        return f"the environment variable {KEY_ENV}"

    def load(self) -> bytes | None:
        value = os.environ.get(KEY_ENV)
        return _decode(value, self.describe()) if value else None

    def create(self) -> bytes:
        raise SealingError(f"{KEY_ENV} is empty; set it to 32 random bytes in URL-safe base64.")

    def load_pending(self) -> bytes | None:
        return None

    def save_pending(self, key: bytes) -> None:
        raise SealingError(f"The master key comes from {KEY_ENV}, which the console cannot change. Unset it so "
                           f"the key moves to the keyring or key file, or rotate where the variable is set.")

    def promote_pending(self) -> None:
        pass

    def discard_pending(self) -> None:
        pass


class FileKeyStore:
    """An owner-only (0600) key file; the next key waits beside it as `<name>.new` during a rotation."""

    can_rotate = True

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.pending_path = self.path.with_name(self.path.name + ".new")

    def describe(self) -> str:
        return f"the key file {self.path}"

    def _read(self, path: Path) -> bytes | None:
        if not path.exists():
            return None
        return _decode(path.read_text(), str(path))

    def _write(self, path: Path, key: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(_encode(key))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def load(self) -> bytes | None:
        return self._read(self.path)

    def create(self) -> bytes:
        if self.path.exists():
            raise SealingError(f"{self.describe()} already exists; the console will not overwrite a key.")
        key = secrets.token_bytes(32)
        self._write(self.path, key)
        return key

    def load_pending(self) -> bytes | None:
        return self._read(self.pending_path)

    def save_pending(self, key: bytes) -> None:
        self._write(self.pending_path, key)

    def promote_pending(self) -> None:
        os.replace(self.pending_path, self.path)

    def discard_pending(self) -> None:
        self.pending_path.unlink(missing_ok=True)


class KeyringKeyStore:
    """The OS keyring (Keychain, Windows Credential Locker, Secret Service) via the `keyring` package."""

    can_rotate = True

    def __init__(self, service: str = KEYRING_SERVICE, name: str = KEYRING_NAME) -> None:
        import keyring

        self._keyring = keyring
        self.service, self.name, self.pending_name = service, name, name + ".pending"

    def describe(self) -> str:
        return f"the OS keyring (service {self.service!r})"

    def _get(self, name: str) -> bytes | None:
        value = self._keyring.get_password(self.service, name)
        return _decode(value, self.describe()) if value else None

    def load(self) -> bytes | None:
        return self._get(self.name)

    def create(self) -> bytes:
        key = secrets.token_bytes(32)
        self._keyring.set_password(self.service, self.name, _encode(key))
        return key

    def load_pending(self) -> bytes | None:
        return self._get(self.pending_name)

    def save_pending(self, key: bytes) -> None:
        self._keyring.set_password(self.service, self.pending_name, _encode(key))

    def promote_pending(self) -> None:
        key = self.load_pending()
        if key is not None:
            self._keyring.set_password(self.service, self.name, _encode(key))
            self.discard_pending()

    def discard_pending(self) -> None:
        try:
            self._keyring.delete_password(self.service, self.pending_name)
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


def write_lookup_row(session: Session, box: SecretBox, at: dt.datetime, by: str) -> None:
    value = base64.b64encode(box.seal(box.lookup_key, LOOKUP_KEY_CONTEXT)).decode()
    row = session.get(Setting, LOOKUP_SETTING)
    if row is None:
        session.add(Setting(key=LOOKUP_SETTING, value=value, updated_at=at, updated_by=by))
    else:
        row.value, row.updated_at, row.updated_by = value, at, by


def _first_sealed_key_id(session: Session) -> bytes | None:
    for column in (StaffMember.sealed_totp_secret, SecurityDevice.sealed_secret):
        # Seeds in the PostgreSQL vault are sealed by the server, not with a master key (vault.py).
        sealed = session.scalars(select(column).where(column.is_not(None),
                                                      func.substr(column, 1, 1) != SERVER_MARK_BYTE).limit(1)).first()
        if sealed:
            return SecretBox.sealed_key_id(sealed)
    return None


def unlock_box(db: Database, store: KeyStore, clock: Clock | None = None) -> SecretBox:
    """The secret box for this database: the key whose id the database records, promoting a pending key
    when a rotation committed but did not finish storing it, discarding one when the rotation rolled back."""
    clock = clock or SystemClock()
    current, pending = store.load(), store.load_pending()
    with db.read() as s:
        sealed_lookup = read_lookup_row(s)
        first_id = _first_sealed_key_id(s) if sealed_lookup is None else None
    if sealed_lookup is not None:
        wanted = SecretBox.sealed_key_id(sealed_lookup)
        if pending is not None and key_id_of(pending) == wanted:
            store.promote_pending()
            master = pending
        elif current is not None and key_id_of(current) == wanted:
            if pending is not None:
                store.discard_pending()
            master = current
        else:
            found = key_id_of(current).hex() if current else "none"
            raise SealingError(f"This database's secrets were sealed with key {wanted.hex()}, but "
                               f"{store.describe()} holds key {found}. Restore the right key; nothing was changed.")
        lookup = SecretBox(master).open(sealed_lookup, LOOKUP_KEY_CONTEXT)
        return SecretBox(master, lookup)
    if pending is not None:
        store.discard_pending()
    if current is None and first_id is not None:
        raise SealingError(f"This database holds secrets sealed with key {first_id.hex()}, but no master key was "
                           f"found ({store.describe()}). Restore the key; nothing was changed.")
    master = current if current is not None else store.create()
    box = SecretBox(master)
    if first_id is not None and first_id != box.key_id:
        raise SealingError(f"This database's secrets were sealed with key {first_id.hex()}, but "
                           f"{store.describe()} holds key {box.key_id.hex()}. Restore the right key.")
    # Record which key seals this database, so a later start (or an interrupted rotation) can tell.
    with db.write() as s:
        if read_lookup_row(s) is None:
            write_lookup_row(s, box, clock.now(), "system")
    return box
