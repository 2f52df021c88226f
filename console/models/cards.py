"""Security Code Cards: indexed 3-character values, stored only as keyed salted hashes."""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from typing import TYPE_CHECKING

from console.models.enums import DeviceKind, DeviceState
from console.models.sealing import SecretBox

if TYPE_CHECKING:
    from console.models.entities import SecurityDevice

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read out over the phone
VALUE_LENGTH = 3
HASH_BYTES = 16  # per value; truncated HMAC-SHA256, ample for a keyed hash
VALUE_RE = re.compile(r"^[A-Z0-9]{3}$")


# Each random byte picks one of the 32 characters: 256 is a multiple of 32, so every character is equally likely.
_BYTE_TO_CHAR = bytes(ord(ALPHABET[b % len(ALPHABET)]) for b in range(256))


def new_card_values(size: int) -> dict[int, str]:
    """Position (1-based) -> value, as printed on the card."""
    # One call to the OS random source per card, not one per character: demo data makes tens of thousands.
    chars = secrets.token_bytes(size * VALUE_LENGTH).translate(_BYTE_TO_CHAR).decode("ascii")
    return {p: chars[(p - 1) * VALUE_LENGTH: p * VALUE_LENGTH] for p in range(1, size + 1)}


def card_hashes(box: SecretBox, salt: bytes, values: dict[int, str]) -> bytes:
    """Every value's hash, position order, one fixed-size slot each: the only form kept in the database."""
    return b"".join(box.lookup_hash(salt + p.to_bytes(2, "big"), values[p])[:HASH_BYTES]
                    for p in range(1, len(values) + 1))


def card_size(hashes: bytes) -> int:
    return len(hashes) // HASH_BYTES


def value_matches(box: SecretBox, salt: bytes, hashes: bytes, position: int, value: str) -> bool:
    if not 1 <= position <= card_size(hashes):
        return False
    slot = hashes[(position - 1) * HASH_BYTES: position * HASH_BYTES]
    return hmac.compare_digest(box.lookup_hash(salt + position.to_bytes(2, "big"), value)[:HASH_BYTES], slot)


# Serial prefixes: an Online Security Code Card is shown on screen, a printed one is mailed.
SERIAL_PREFIX = {"online_code_card": "OSC", "code_card": "SCC"}


def new_card_device(box: SecretBox, kind: DeviceKind, state: DeviceState, account_id: int, size: int,
                    now: dt.datetime) -> tuple[SecurityDevice, dict[int, str]]:
    """A new code card device (online or printed, not yet added to a session) and its values, returned once for
    showing or printing; the device keeps only their hashes. The one place a card is made."""
    from console.models.entities import SecurityDevice

    values = new_card_values(size)
    salt = box.new_salt()
    device = SecurityDevice(kind=kind, state=state, serial=f"{SERIAL_PREFIX[kind.name]}-{secrets.token_hex(5).upper()}",
                            account_id=account_id, secret_salt=salt, secret_hash=card_hashes(box, salt, values),
                            issued_at=now, failed_attempts=0, locked=False)
    return device, values
