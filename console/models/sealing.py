"""Secrets at rest: seeds sealed with AES-GCM, look-up values kept only as keyed salted hashes."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from console.models.errors import ConsoleError

_FORMAT = b"\x01"


class SealingError(ConsoleError):
    pass


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"sls-console/" + purpose).derive(master)


class SecretBox:
    """Seals seeds (AES-256-GCM, bound to what they belong to) and hashes look-up values.

    The master key lives outside the database, so a copy of the database file alone yields neither a seed
    nor, thanks to the keyed hash, a way to test guesses of card values or passcodes offline.
    """

    def __init__(self, master_key: bytes, lookup_key: bytes | None = None) -> None:
        if len(master_key) != 32:
            raise SealingError("The console's master key must be 32 bytes.")
        if lookup_key is not None and len(lookup_key) != 32:
            raise SealingError("The look-up key must be 32 bytes.")
        self._master = master_key
        self._aead = AESGCM(_derive(master_key, b"seal"))
        # The look-up key is derived from the first master key and then carried forward, sealed, across
        # rotations (see keys.py): card and passcode hashes cannot be recomputed without their values.
        self._lookup_key = lookup_key if lookup_key is not None else _derive(master_key, b"lookup")
        self.key_id = key_id_of(master_key)

    @property
    def lookup_key(self) -> bytes:
        return self._lookup_key

    @staticmethod
    def sealed_key_id(sealed: bytes) -> bytes:
        """The id of the master key a sealed value was made with (not secret: a fingerprint)."""
        return sealed[1:5]

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(12)
        return _FORMAT + self.key_id + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        if not sealed or sealed[:1] != _FORMAT:
            raise SealingError("A sealed secret is in an unknown format.")
        if sealed[1:5] != self.key_id:
            raise SealingError("A sealed secret was made with another key; rotate or restore the key.")
        try:
            return self._aead.decrypt(sealed[5:17], sealed[17:], context.encode())
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


def key_id_of(master_key: bytes) -> bytes:
    """A 4-byte fingerprint of a master key; stored beside sealed values to say which key opens them."""
    return hashlib.sha256(_derive(master_key, b"id")).digest()[:4]


def device_context(device_id: int) -> str:
    """What a device seed is bound to: moved to another row, it no longer opens."""
    return f"device:{device_id}"


def staff_context(staff_id: int) -> str:
    """What a staff member's TOTP secret is bound to."""
    return f"staff:{staff_id}"


LOOKUP_KEY_CONTEXT = "lookup-key"
