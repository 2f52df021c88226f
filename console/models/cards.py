"""Security Code Cards: indexed 3-character values, stored only as keyed salted hashes."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from console.models import vault
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


def value_hash(box: SecretBox, salt: bytes, position: int, value: str) -> bytes:
    """The desk's keyed, salted hash of one card value at its position (what a slot holds, before the server's
    own key on PostgreSQL: console/models/vault.py)."""
    return box.lookup_hash(salt + position.to_bytes(2, "big"), value)[:HASH_BYTES]


def card_hashes(box: SecretBox, salt: bytes, values: dict[int, str]) -> bytes:
    """Every value's hash, position order, one fixed-size slot each: the only form kept in the database."""
    return b"".join(value_hash(box, salt, p, values[p]) for p in range(1, len(values) + 1))


def card_size(s: Session, device: SecurityDevice) -> int:
    return vault.slot_count(s, device, HASH_BYTES)


def value_matches(s: Session, box: SecretBox, device: SecurityDevice, position: int, value: str) -> bool:
    return values_match(s, box, device, {position: value})


def values_match(s: Session, box: SecretBox, device: SecurityDevice, answer: dict[int, str]) -> bool:
    """Whether the card holds every value of one answer (index number -> value), checked and counted as one."""
    if device.secret_salt is None:
        return False
    salt = device.secret_salt
    return vault.slots_match(s, device, [(position, value_hash(box, salt, position, value))
                                         for position, value in answer.items()])


def store_card(s: Session, box: SecretBox, device: SecurityDevice, values: dict[int, str]) -> None:
    """Keep a flushed card device's values as hashes (salt included); the values themselves are not kept."""
    device.secret_salt = box.new_salt()
    vault.store_hashes(s, device, card_hashes(box, device.secret_salt, values), HASH_BYTES)


# Serial prefixes: an Online Security Code Card is shown on screen, a printed one is mailed.
SERIAL_PREFIX = {"online_code_card": "OSC", "code_card": "SCC"}


def new_card_device(s: Session, box: SecretBox, kind: DeviceKind, state: DeviceState, account_id: int, size: int,
                    now: dt.datetime) -> tuple[SecurityDevice, dict[int, str]]:
    """A new code card device (online or printed, added to the session) and its values, returned once for
    showing or printing; the device keeps only their hashes. The one place a card is made."""
    from console.models.entities import SecurityDevice

    values = new_card_values(size)
    device = SecurityDevice(kind=kind, state=state, serial=f"{SERIAL_PREFIX[kind.name]}-{secrets.token_hex(5).upper()}",
                            account_id=account_id, issued_at=now, failed_attempts=0, locked=False)
    s.add(device)
    s.flush()
    store_card(s, box, device, values)
    return device, values
