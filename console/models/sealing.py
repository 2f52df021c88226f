"""Secrets at rest: seeds sealed with AES-GCM under a key whose id travels with the sealed value, look-up
values kept only as keyed salted hashes.

A sealed value is `format (1 byte) | key id (4 bytes) | nonce (12) | ciphertext+tag`. The key id says
which master key opens it, so a box holding several keys (the current one and those not yet retired)
opens any of them, and a rotation can tell what still uses an old key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from console.models.entities import Setting
from console.models.errors import ConsoleError

_FORMAT = b"\x01"
KEY_ID_BYTES = 4
# The settings row holding the look-up key sealed under the current master key. The key id in that
# sealed value is the database's record of which key seals new values. Not a figure: the settings
# screen and exports leave it alone (load_figures ignores keys it does not know).
LOOKUP_SETTING = "sealed_lookup_key"
LOOKUP_KEY_CONTEXT = "lookup-key"
_CHECKED = "sls_sealing_key_id"  # Session.info: the current key id, read once per transaction


class SealingError(ConsoleError):
    pass


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"sls-console/" + purpose).derive(master)


def key_id_of(master_key: bytes) -> bytes:
    """A 4-byte fingerprint of a master key; stored beside sealed values to say which key opens them."""
    return hashlib.sha256(_derive(master_key, b"id")).digest()[:KEY_ID_BYTES]


def sealed_key_id(sealed: bytes) -> bytes:
    """The id of the master key a sealed value was made with (not secret: a fingerprint)."""
    return sealed[1:1 + KEY_ID_BYTES]


def current_key_id(s: Session) -> bytes | None:
    """The key this database seals new values with (None before the first key is recorded). Read in the
    caller's transaction: writes are serialised, so a rotation that made another key current either
    committed before (and this sees it) or waits until this transaction ends."""
    row = s.get(Setting, LOOKUP_SETTING)
    return sealed_key_id(base64.b64decode(row.value)) if row is not None else None


def forget_current_key(s: Session) -> None:
    """After making another key current in this transaction, so the next seal reads it again."""
    s.info.pop(_CHECKED, None)


class SecretBox:
    """Seals seeds (AES-256-GCM, bound to what they belong to) and hashes look-up values.

    It holds every master key not yet retired, each known by its id, and seals with the one the database
    records as current (it follows a rotation made at another desk on the next seal). `reload` reads the
    key store again, for a key added by a rotation after this box was made.

    The master keys live outside the database, so a copy of the database file alone yields neither a seed
    nor, thanks to the keyed hash, a way to test guesses of card values or passcodes offline.
    """

    def __init__(self, master_key: bytes, lookup_key: bytes | None = None, *, others: Iterable[bytes] = (),
                 reload: Callable[[], Sequence[bytes]] | None = None, where: str = "this desk's key store") -> None:
        if len(master_key) != 32:
            raise SealingError("The console's master key must be 32 bytes.")
        if lookup_key is not None and len(lookup_key) != 32:
            raise SealingError("The look-up key must be 32 bytes.")
        self._keys: dict[bytes, AESGCM] = {}
        for key in (master_key, *others):
            self.add_key(key)
        # The look-up key is derived from the first master key and then carried forward, sealed, across
        # rotations (see key_rotation.py): card and passcode hashes cannot be recomputed without their values.
        self._lookup_key = lookup_key if lookup_key is not None else _derive(master_key, b"lookup")
        self.key_id = key_id_of(master_key)
        self._reload = reload
        self.where = where

    @property
    def lookup_key(self) -> bytes:
        return self._lookup_key

    @property
    def key_ids(self) -> frozenset[bytes]:
        return frozenset(self._keys)

    sealed_key_id = staticmethod(sealed_key_id)

    def add_key(self, key: bytes) -> bytes:
        if len(key) != 32:
            raise SealingError("A master key must be 32 bytes.")
        key_id = key_id_of(key)
        if key_id not in self._keys:
            # A new dict, not an update in place: another thread may be reading the old one.
            self._keys = {**self._keys, key_id: AESGCM(_derive(key, b"seal"))}
        return key_id

    def keep_only(self, key_ids: Iterable[bytes]) -> None:
        """Forget retired keys (never the current one)."""
        keep = set(key_ids) | {self.key_id}
        self._keys = {k: v for k, v in self._keys.items() if k in keep}

    def _find(self, key_id: bytes) -> AESGCM | None:
        aead = self._keys.get(key_id)
        if aead is None and self._reload is not None:
            for key in self._reload():  # a rotation at another desk added a key to the shared store
                self.add_key(key)
            aead = self._keys.get(key_id)
        return aead

    def use_key(self, key_id: bytes) -> None:
        """Seal with this key from now on (the database says it is current)."""
        if self._find(key_id) is None:
            raise SealingError(f"This database now seals with master key {key_id.hex()} (rotated at another "
                               f"desk), but {self.where} does not hold it. Copy the key from the desk that "
                               f"rotated it (see docs/trust.md, Keys); nothing was changed.")
        self.key_id = key_id

    def follow(self, s: Session) -> bytes:
        """Switch to the key the database records as current, checked once per transaction."""
        current = s.info.get(_CHECKED)
        if current is None:
            current = current_key_id(s) or self.key_id
            s.info[_CHECKED] = current
        if current != self.key_id:
            self.use_key(current)
        return current

    def seal(self, s: Session, plaintext: bytes, context: str) -> bytes:
        """Seal under the database's current key, read in the caller's write transaction `s`, so nothing
        sealed while another desk rotates is made with a key about to be retired."""
        return self.seal_with(self.follow(s), plaintext, context)

    def seal_with(self, key_id: bytes, plaintext: bytes, context: str) -> bytes:
        """Seal under a given held key (rotation and bulk loads, which check the current key themselves)."""
        aead = self._find(key_id)
        if aead is None:
            raise SealingError(f"Master key {key_id.hex()} is not held in {self.where}.")
        nonce = os.urandom(12)
        return _FORMAT + key_id + nonce + aead.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        if not sealed or sealed[:1] != _FORMAT or len(sealed) < 1 + KEY_ID_BYTES + 12 + 16:
            raise SealingError("A sealed secret is in an unknown format.")
        key_id = sealed_key_id(sealed)
        aead = self._find(key_id)
        if aead is None:
            raise SealingError(f"A sealed secret was made with master key {key_id.hex()}, which {self.where} "
                               f"does not hold; copy it from the desk that rotated the key or restore it.")
        try:
            return aead.decrypt(sealed[5:17], sealed[17:], context.encode())
        except InvalidTag:
            raise SealingError("A sealed secret failed its integrity check (altered, or moved to another "
                               "record).") from None

    @staticmethod
    def new_salt() -> bytes:
        return secrets.token_bytes(16)

    def lookup_hash(self, salt: bytes, value: str) -> bytes:
        # hmac.digest: the one-shot C path, same result as hmac.new(...).digest() at a fraction of the cost.
        return hmac.digest(self._lookup_key, salt + value.encode("utf-8"), "sha256")

    def lookup_matches(self, salt: bytes, value: str, expected: bytes) -> bool:
        return hmac.compare_digest(self.lookup_hash(salt, value), expected)


def device_context(device_id: int) -> str:
    """What a device seed is bound to: moved to another row, it no longer opens."""
    return f"device:{device_id}"


def staff_context(staff_id: int) -> str:
    """What a staff member's TOTP secret is bound to."""
    return f"staff:{staff_id}"
