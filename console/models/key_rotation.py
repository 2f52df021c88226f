"""Rotating the master key while other desks keep working: add a key, re-seal everything, retire the old
key only when nothing uses it.

Order of work, so that no crash and no other desk's write loses a value:
1. every held value is opened first (a value that no held key opens stops the rotation before any change);
2. the new key is added to this desk's key store beside the old one (a desk sharing the store finds it);
3. one transaction makes it the database's current key (the look-up key is re-sealed under it). Writes are
   serialised, so every seal committed afterwards, at any desk, uses the new key (`SecretBox.seal` reads the
   current key in its own write transaction);
4. the values still sealed with other keys are re-sealed in batches, one transaction each, so other desks
   are never held up for long;
5. one transaction checks that nothing is sealed with another key any more (re-sealing any last ones) and
   records the rotation in the audit trail; only then are the old keys dropped from the store.
A rotation stopped after step 3 leaves both keys in the store and every value opening with one of them;
running it again finishes the work.

How the hashed look-up values (card values, temporary passcodes) survive: they are keyed by the look-up
key, not by the master key. The look-up key is derived from the first master key and, from then on, kept
in the database sealed under the current master key (settings row `sealed_lookup_key`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from console.models import audit, staff_states
from console.models.arguments import checked_arguments
from console.models.context import Actor, ServiceContext
from console.models.entities import SecurityDevice, StaffMember, table_of
from console.models.errors import RuleViolation
from console.models.keys import KeyStore, write_lookup_row
from console.models.permissions import Permission, require
from console.models.sealing import (
    KEY_ID_BYTES,
    SealingError,
    SecretBox,
    current_key_id,
    device_context,
    key_id_of,
    staff_context,
)
from console.models.vault import SERVER_MARK_BYTE

BATCH = 2000
Sealed = type[SecurityDevice] | type[StaffMember]
SEALED_COLUMNS: tuple[tuple[Sealed, InstrumentedAttribute[bytes | None], Callable[[int], str]], ...] = (
    (SecurityDevice, SecurityDevice.sealed_secret, device_context),
    (StaffMember, StaffMember.sealed_totp_secret, staff_context),
)


@dataclass(frozen=True)
class RotationResult:
    old_key_id: str
    new_key_id: str
    devices: int
    staff: int
    retired: tuple[str, ...]


def _key_part(column: InstrumentedAttribute[bytes | None]):  # type: ignore[no-untyped-def]
    """The key id inside a sealed value, as SQL (bytes 2-5; substr works on BLOB and bytea alike)."""
    return func.substr(column, 2, KEY_ID_BYTES)


def _master_sealed(column: InstrumentedAttribute[bytes | None]):  # type: ignore[no-untyped-def]
    """Sealed with a master key, as SQL: seeds in the PostgreSQL vault are sealed by the server (vault.py)."""
    return func.substr(column, 1, 1) != SERVER_MARK_BYTE


@checked_arguments
class KeyRotation:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def rotate(self, actor: Actor, store: KeyStore, new_key: bytes | None = None) -> RotationResult:
        """Re-seal every device seed and staff TOTP secret under a new master key and retire the others."""
        box = self.ctx.box
        with self.ctx.db.read() as s:  # before the key store is touched; checked again in each write
            require(s, actor, Permission.rotate_key)
            old_id = current_key_id(s) or box.key_id
            for entity, column, context_of in SEALED_COLUMNS:
                self._check_opens(s, box, entity, column, context_of)
        if not store.can_rotate:
            raise RuleViolation(f"The master key comes from {store.describe()}, which the console cannot "
                                f"change. Move the key to the OS keyring or a key file, or rotate it there.")
        new_key = new_key or secrets.token_bytes(32)
        new_id = key_id_of(new_key)
        if new_id in box.key_ids:
            raise RuleViolation("The new master key is one this desk already holds; nothing was changed.")
        held = set(box.key_ids)
        store.add(new_key)
        box.add_key(new_key)
        try:
            with self.ctx.db.write() as s:
                require(s, actor, Permission.rotate_key)
                if (current_key_id(s) or box.key_id) != old_id:
                    raise RuleViolation("Another desk rotated the master key a moment ago; nothing was changed "
                                        "here. Run the rotation again if you still want a new key.")
                now = self.ctx.clock.now()
                write_lookup_row(s, box, new_id, now, actor.username)
                audit.record(s, at=now, actor=actor.username, action="key.added",
                             summary=f"Master key {new_id.hex()} added; new secrets are sealed with it.",
                             details={"old_key_id": old_id.hex(), "new_key_id": new_id.hex()})
        except BaseException:  # the database never used the new key: take it back out of the store
            store.keep_only(held)
            box.keep_only(held)
            raise
        box.use_key(new_id)
        counts = {entity: self._reseal_all(actor, box, entity, column, context_of, new_id)
                  for entity, column, context_of in SEALED_COLUMNS}
        with self.ctx.db.write() as s:
            require(s, actor, Permission.rotate_key)
            for entity, column, context_of in SEALED_COLUMNS:  # anything sealed meanwhile with another key
                counts[entity] += self._reseal_batch(s, box, entity, column, context_of, new_id, 0, limit=None)[0]
            retired = tuple(sorted(k.hex() for k in box.key_ids - {new_id}))
            devices, staff = counts[SecurityDevice], counts[StaffMember]
            audit.record(s, at=self.ctx.clock.now(), actor=actor.username, action="key.rotated",
                         summary=f"Master key rotated: {devices} device seeds and {staff} staff secrets re-sealed "
                                 f"under key {new_id.hex()}; key {', '.join(retired) or 'none'} retired.",
                         details={"old_key_id": old_id.hex(), "new_key_id": new_id.hex(), "devices": devices,
                                  "staff": staff, "retired": list(retired),
                                  # staff secrets are re-sealed outside the ORM: their new states
                                  staff_states.DETAILS_KEY: staff_states.all_states(s)})
        store.keep_only({new_id})
        box.keep_only({new_id})
        return RotationResult(old_id.hex(), new_id.hex(), devices, staff, retired)

    @staticmethod
    def _check_opens(s: Session, box: SecretBox, entity: Sealed, column: InstrumentedAttribute[bytes | None],
                     context_of: Callable[[int], str]) -> None:
        last = 0
        while rows := s.execute(select(entity.id, column).where(entity.id > last, column.is_not(None),
                                                           _master_sealed(column))
                                .order_by(entity.id).limit(BATCH)).all():
            for row_id, sealed in rows:
                assert sealed is not None  # the query selects sealed rows only
                try:
                    box.open(sealed, context_of(row_id))
                except SealingError as exc:
                    raise SealingError(f"{entity.__tablename__} row {row_id} does not open with the keys held "
                                       f"({exc}) Nothing was changed.") from None
            last = rows[-1][0]

    def _reseal_all(self, actor: Actor, box: SecretBox, entity: Sealed, column: InstrumentedAttribute[bytes | None],
                    context_of: Callable[[int], str], new_id: bytes) -> int:
        done, last = 0, 0
        while True:
            with self.ctx.db.write() as s:
                require(s, actor, Permission.rotate_key)
                count, last = self._reseal_batch(s, box, entity, column, context_of, new_id, last, limit=BATCH)
                if count and entity is StaffMember:  # a rotation stopped after this batch leaves it recorded
                    audit.record(s, at=self.ctx.clock.now(), actor=actor.username, action="key.resealed",
                                 summary=f"{count} staff secrets re-sealed under master key {new_id.hex()}.",
                                 details={"new_key_id": new_id.hex(), "staff": count,
                                          staff_states.DETAILS_KEY: staff_states.all_states(s)})
            if count == 0:
                return done
            done += count

    @staticmethod
    def _reseal_batch(s: Session, box: SecretBox, entity: Sealed, column: InstrumentedAttribute[bytes | None],
                      context_of: Callable[[int], str], new_id: bytes, after: int,
                      limit: int | None) -> tuple[int, int]:
        """Re-seal rows (after id `after`) not yet under `new_id`, with executemany. Bumps each row's version
        so a desk holding the row from before the rotation is told to reload rather than write the old value."""
        query = (select(entity.id, column).where(entity.id > after, column.is_not(None), _master_sealed(column),
                                                 _key_part(column) != new_id).order_by(entity.id))
        rows = s.execute(query.limit(limit) if limit else query).all()
        if not rows:
            return 0, after
        params = []
        for row_id, sealed in rows:
            assert sealed is not None  # the query selects sealed rows only
            plain = box.open(sealed, context_of(row_id))
            params.append({"row_id": row_id, "sealed": box.seal_with(new_id, plain, context_of(row_id))})
        table = table_of(entity)
        s.connection().execute(update(table).where(table.c.id == bindparam("row_id"))
                               .values({column.key: bindparam("sealed"), "version": table.c.version + 1}), params)
        return len(rows), rows[-1][0]
