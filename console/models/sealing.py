"""Secrets at rest: seeds sealed with AES-GCM, look-up values kept only as keyed salted hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from console.models.errors import ConsoleError

KEY_ENV = "SLS_CONSOLE_KEY"
KEY_FILE_ENV = "SLS_CONSOLE_KEY_FILE"
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

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise SealingError("The console's master key must be 32 bytes.")
        self._master = master_key
        self._aead = AESGCM(_derive(master_key, b"seal"))
        self._lookup_key = _derive(master_key, b"lookup")
        self.key_id = hashlib.sha256(_derive(master_key, b"id")).digest()[:4]

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


def default_key_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("sls-console", "SLS")) / "master.key"


def load_master_key(create: bool = True) -> bytes:
    """The key from $SLS_CONSOLE_KEY (base64), else the key file (created owner-only on first use)."""
    env = os.environ.get(KEY_ENV)
    if env:
        try:
            key = base64.urlsafe_b64decode(env.strip())
        except ValueError:
            key = b""
        if len(key) != 32:
            raise SealingError(f"{KEY_ENV} must hold 32 bytes in URL-safe base64.")
        return key
    path = Path(os.environ.get(KEY_FILE_ENV) or default_key_file())
    if path.exists():
        key = base64.urlsafe_b64decode(path.read_text().strip())
        if len(key) != 32:
            raise SealingError(f"The key file {path} is damaged (it must hold 32 bytes in base64).")
        return key
    if not create:
        raise SealingError(f"No master key: set {KEY_ENV} or provide {path}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.urlsafe_b64encode(key).decode())
    return key


def device_context(device_id: int) -> str:
    """What a device seed is bound to: moved to another row, it no longer opens."""
    return f"device:{device_id}"
