"""Where device seeds and card/passcode hashes are kept and checked (docs/trust.md, "Second factors").

On PostgreSQL the secrets live in columns the desks' role may not read; storing and checking them runs in
SECURITY DEFINER functions owned by the schema's owner (migration 0011). A seed is encrypted there with a key
made from a server key (never granted to the desks) and the desks' vault key (derived from the look-up key,
which the desks hold): a desk alone cannot read the ciphertext, a backup alone cannot open it. Card values and
passcodes are hashed by the desk (keyed, salted) and keyed again on the server with the server key, so the
stored hashes cannot be tested offline without it.

On SQLite the desk is the whole installation: seeds are sealed with the master key and hashes stored as the
desk makes them; nothing here hides them from whoever holds the desk's key file and database file.
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

import pyotp
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from console.models.entities import Challenge, SecurityDevice
from console.models.errors import DeviceLocked, PermissionDenied, RuleViolation
from console.models.sealing import SecretBox, device_context

# First byte of a seed or hash string kept by the server (Python-sealed values start with a format byte < 16).
SERVER_MARK = 0x56  # "V"
SERVER_MARK_BYTE = bytes([SERVER_MARK])
PASSCODE_SLOT_BYTES = 32
CARD_SLOT_BYTES = 16
NOT_ON_THIS_DESK = ("Seeds on a shared PostgreSQL database are kept where no desk can read them; the console "
                    "checks codes there instead. Use a SQLite demo database to practise with live codes.")


def on_server(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def vault_key(box: SecretBox) -> bytes:
    """The desks' half of a seed's key on the server; the look-up key survives master-key rotation."""
    return hmac.digest(box.lookup_key, b"sls-console/vault", "sha256")


def is_server_sealed(value: bytes | None) -> bool:
    return bool(value) and value[0] == SERVER_MARK  # type: ignore[index]


def seed_bytes(seed_b32: str) -> bytes:
    return base64.b32decode(seed_b32 + "=" * (-len(seed_b32) % 8), casefold=True)


def store_seed(s: Session, box: SecretBox, device: SecurityDevice, seed_b32: str) -> None:
    """Keep a new device's seed (the device has been flushed: the seed is bound to its row)."""
    if on_server(s):
        _call(s, "SELECT sls_vault_store_seed(:d, :seed, :k)",
              d=device.id, seed=seed_bytes(seed_b32), k=vault_key(box))
    else:
        device.sealed_secret = box.seal(s, seed_b32.encode(), device_context(device.id))


def store_seeds_in_bulk(conn: Connection, seeds: list[tuple[int, bytes]], key: bytes) -> None:
    """Bulk loads: keep many new devices' seeds (rows inserted in this transaction, with no seed yet) at once,
    in the form sls_vault_store_seed() gives one (migration 0011): one COPY and one UPDATE instead of a
    function call, a row lock and an update per device. Run as the schema's owner, like adopt_sealed_seeds."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS bulk_seeds (device_id bigint, seed bytea) "
                       "ON COMMIT DELETE ROWS")
        with cursor.copy("COPY bulk_seeds (device_id, seed) FROM STDIN") as copy:
            for row in seeds:
                copy.write_row(row)
    finally:
        cursor.close()
    conn.exec_driver_sql(
        "UPDATE devices SET sealed_secret = '\\x56'::bytea || pgp_sym_encrypt_bytea("
        "    b.seed, sls_vault_seed_key(b.device_id, %(k)s), 'cipher-algo=aes256, s2k-mode=1') "
        "FROM bulk_seeds AS b WHERE devices.id = b.device_id AND devices.sealed_secret IS NULL",
        {"k": key})


def otp_match(s: Session, box: SecretBox, device: SecurityDevice, code: str, first: int, last: int,
              digits: int) -> int | None:
    """The counter in [first, last] at which the device's HOTP code (RFC 4226) equals `code`, or None."""
    if on_server(s):
        step = _call(s, "SELECT sls_vault_otp_match(:d, :k, :code, :first, :last, :digits)",
                     d=device.id, k=vault_key(box), code=code, first=first, last=last, digits=digits)
        return None if step is None else int(step)
    hotp = pyotp.HOTP(open_seed(s, box, device), digits=digits)
    found: int | None = None
    for counter in range(first, last + 1):
        if hmac.compare_digest(hotp.at(counter), code):
            found = counter  # no early exit: the same work whatever the answer
    return found


def open_seed(s: Session, box: SecretBox, device: SecurityDevice) -> str:
    """The plain seed: only where the desk holds everything (SQLite); the server never hands one out."""
    if on_server(s) or is_server_sealed(device.sealed_secret):
        raise PermissionDenied(NOT_ON_THIS_DESK)
    if device.sealed_secret is None:
        raise _no_secret(device)
    return box.open(device.sealed_secret, device_context(device.id)).decode()


def store_hashes(s: Session, device: SecurityDevice, hashes: bytes, slot_bytes: int) -> None:
    """Keep a new card's (or passcode's) hashes, one slot of `slot_bytes` per value."""
    if on_server(s):
        _call(s, "SELECT sls_vault_store_hashes(:d, :h, :n)", d=device.id, h=hashes, n=slot_bytes)
    else:
        device.secret_hash = hashes


def slot_matches(s: Session, device: SecurityDevice, slot: int, candidate: bytes) -> bool:
    """Whether slot `slot` (1-based) holds `candidate`, the desk's hash of the value given."""
    return slots_match(s, device, [(slot, candidate)])


def slots_match(s: Session, device: SecurityDevice, wanted: list[tuple[int, bytes]]) -> bool:
    """Whether every (slot, candidate) holds: one answer (a card's two values), counted once by the server."""
    if not wanted or not all(candidate for _slot, candidate in wanted):
        return False
    if on_server(s):
        return bool(_call(s, "SELECT sls_vault_slots_match(:d, CAST(:slots AS integer[]), CAST(:h AS bytea[]))",
                          d=device.id, slots=[slot for slot, _c in wanted], h=[c for _s, c in wanted]))
    return all([_slot_holds(device, slot, candidate) for slot, candidate in wanted])  # no early exit


def store_code(s: Session, challenge: Challenge, code_hash: bytes) -> None:
    """Keep a texted code's hash for its (flushed) challenge: in the vault on PostgreSQL, in its text on SQLite."""
    if on_server(s):
        challenge.text = ""
        s.flush()
        _call(s, "SELECT sls_vault_store_code(:c, :h)", c=challenge.id, h=code_hash)
    else:
        challenge.text = code_hash.hex()


def code_matches(s: Session, challenge: Challenge, candidate: bytes) -> bool:
    """Whether `candidate` (the desk's hash of the digits given) is the texted code; counted by the vault."""
    if on_server(s):
        return bool(_call(s, "SELECT sls_vault_code_matches(:c, :h)", c=challenge.id, h=candidate))
    try:
        expected = bytes.fromhex(challenge.text)
    except ValueError:
        return False
    return hmac.compare_digest(expected, candidate)


def unlock_checks(s: Session, device: SecurityDevice) -> None:
    """Staff unlocked the device: the server's own count of its wrong codes starts again as well."""
    if on_server(s):
        _call(s, "SELECT sls_vault_unlock(:d)", d=device.id)


def _slot_holds(device: SecurityDevice, slot: int, candidate: bytes) -> bool:
    stored = device.secret_hash
    if stored is None:
        raise _no_secret(device)
    size = len(candidate)
    if not 1 <= slot <= len(stored) // size:
        return False
    return hmac.compare_digest(stored[(slot - 1) * size: slot * size], candidate)


def slot_count(s: Session, device: SecurityDevice, slot_bytes: int) -> int:
    if on_server(s):
        count = _call(s, "SELECT sls_vault_slot_count(:d, :n)", d=device.id, n=slot_bytes)
        return int(count or 0)
    return len(device.secret_hash or b"") // slot_bytes


def adopt_sealed_seeds(s: Session, box: SecretBox) -> int:
    """Move seeds sealed by a desk (before the vault, or written by the demo) into the server's vault; run as
    the schema's owner, with the master key (`sls-console db grant`). Returns how many were moved."""
    if not on_server(s):
        return 0
    # An administrator's bulk step over every device (a million-user demo, a first `db grant`): the desks'
    # statement timeout, there so one stuck query never freezes a desk, would stop it halfway.
    s.execute(text("SET LOCAL statement_timeout = 0"))
    moved, last = 0, 0
    while True:
        rows = s.execute(text("SELECT id, sealed_secret FROM devices WHERE id > :last AND sealed_secret IS NOT NULL "
                              "AND get_byte(sealed_secret, 0) <> :mark ORDER BY id LIMIT 2000"),
                         {"last": last, "mark": SERVER_MARK}).all()
        if not rows:
            break
        ids, seeds, dropped = [], [], []
        for device_id, sealed in rows:
            plain = box.open(sealed, device_context(device_id))
            if plain.startswith(b"training-card:"):  # card values kept for the SQLite training window only
                dropped.append(device_id)
            else:
                ids.append(device_id)
                seeds.append(seed_bytes(plain.decode()))
        s.execute(text("UPDATE devices SET sealed_secret = NULL WHERE id = ANY(CAST(:ids AS bigint[]))"),
                  {"ids": dropped})
        s.execute(text("SELECT count(sls_vault_store_seed(d, seed, :k)) "
                       "FROM unnest(CAST(:ids AS bigint[]), CAST(:seeds AS bytea[])) AS t(d, seed)"),
                  {"ids": ids, "seeds": seeds, "k": vault_key(box)})
        moved, last = moved + len(ids), rows[-1][0]
    s.execute(text("""UPDATE devices SET secret_hash = sls_vault_pepper_all(
        id, secret_hash, CASE WHEN kind = 'temporary_passcode' THEN 32 ELSE 16 END)
        WHERE secret_hash IS NOT NULL AND length(secret_hash) % 2 = 0"""))
    return moved


def _call(s: Session, sql: str, **params: object) -> Any:
    try:
        return s.scalar(text(sql), params)
    except DBAPIError as exc:
        state = getattr(exc.orig, "sqlstate", None)
        if state == "P0002":
            raise RuleViolation("This device has no stored secret to check against. Replace the device.") from None
        if state == "42501":
            raise RuleViolation("This device's secret is already stored; a new secret needs a new device.") from None
        if state == "SL001":
            raise DeviceLocked("This device is locked after too many wrong codes (counted by the server). A staff "
                               "member must unlock it before it can be used again.") from None
        if state == "SL002":
            raise RuleViolation("The server has answered as many code checks as the firm allows per minute "
                                "(setting vault_checks_per_minute). Try again in a minute.") from None
        raise


def _no_secret(device: SecurityDevice) -> RuleViolation:
    return RuleViolation(f"{device.kind.label} {device.serial} has no stored secret to check against. "
                         f"Replace the device.")
