"""Temporary passcodes hashed slowly: Argon2id over the keyed hash, so a guess costs the Argon2 work even to
someone holding the stored hash and a desk's key file (docs/trust.md).

The cost is written into the salt, so hashes made under another cost still verify. Real installs use
DEFAULT_COST (the OWASP minimum for Argon2id); the test suite sets a tiny cost through COST_ENV to stay fast.
Salts without the header (passcodes from before, and demo data) are checked with the keyed hash alone.
"""

from __future__ import annotations

import os
import secrets
import struct
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw

from console.models.errors import InvalidInput
from console.models.sealing import SecretBox

COST_ENV = "SLS_CONSOLE_PASSCODE_HASH_COST"
_HEADER = b"A2"
_COST = struct.Struct(">BIB")  # time cost, memory in KiB, parallelism
HASH_BYTES = 32


@dataclass(frozen=True)
class Cost:
    time_cost: int
    memory_kib: int
    parallelism: int

    def sane(self) -> bool:
        """Bounds for a cost read back from the database, where a desk could have written anything."""
        return 1 <= self.time_cost <= 10 and 8 <= self.memory_kib <= 1 << 20 and 1 <= self.parallelism <= 8


DEFAULT_COST = Cost(time_cost=2, memory_kib=19 * 1024, parallelism=1)


def configured_cost() -> Cost:
    """DEFAULT_COST, or `t,m,p` from COST_ENV (tests)."""
    text = os.environ.get(COST_ENV)
    if not text:
        return DEFAULT_COST
    try:
        cost = Cost(*(int(part) for part in text.split(",")))
    except (TypeError, ValueError):
        cost = None
    if cost is None or not cost.sane():
        raise InvalidInput(f"{COST_ENV} must be 'time,memory_kib,parallelism' within bounds, e.g. 2,19456,1.")
    return cost


def new_salt(cost: Cost | None = None) -> bytes:
    cost = cost or configured_cost()
    return _HEADER + _COST.pack(cost.time_cost, cost.memory_kib, cost.parallelism) + secrets.token_bytes(16)


def cost_of(salt: bytes) -> Cost | None:
    """The Argon2 cost a salt was made with; None for a salt from before (keyed hash only)."""
    if not salt.startswith(_HEADER) or len(salt) != len(_HEADER) + _COST.size + 16:
        return None
    return Cost(*_COST.unpack_from(salt, len(_HEADER)))


def passcode_hash(box: SecretBox, salt: bytes, passcode: str) -> bytes:
    cost = cost_of(salt)
    if cost is None:
        return box.lookup_hash(salt, passcode)
    if not cost.sane():
        return b""  # matches nothing: a cost no console writes
    raw_salt = salt[len(_HEADER) + _COST.size:]
    return hash_secret_raw(box.lookup_hash(raw_salt, passcode), raw_salt, cost.time_cost, cost.memory_kib,
                           cost.parallelism, HASH_BYTES, Type.ID)
