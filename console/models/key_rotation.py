"""Rotating the master key: every sealed secret re-sealed under a new key in one transaction.

How the hashed look-up values (card values, temporary passcodes) survive: they are keyed by the look-up
key, not by the master key. The look-up key is derived from the first master key and, from then on, kept
in the database sealed under the current master key (settings row `sealed_lookup_key`). A rotation
re-seals it like any seed, so every stored hash stays valid without knowing the values behind it, and a
copy of the database is still useless without the (new) master key.

Order of work, so no crash loses the key that opens the data: the new key is stored as *pending* first,
then the database transaction commits, then the pending key replaces the old one. `keys.unlock_box`
finishes an interrupted rotation on the next start (it picks the key whose id the database records).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from console.models import audit, staff_states
from console.models.context import Actor, ServiceContext
from console.models.entities import SecurityDevice, StaffMember, table_of
from console.models.errors import RuleViolation
from console.models.keys import KeyStore, write_lookup_row
from console.models.permissions import Permission, require
from console.models.sealing import SealingError, SecretBox, device_context, staff_context
from console.models.vault import SERVER_MARK_BYTE

BATCH = 2000


@dataclass(frozen=True)
class RotationResult:
    old_key_id: str
    new_key_id: str
    devices: int
    staff: int


class KeyRotation:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def rotate(self, actor: Actor, store: KeyStore, new_key: bytes | None = None) -> RotationResult:
        """Re-seal every device seed and staff TOTP secret under a new master key; on success the context's
        box is the new one. Any failure changes nothing, in the database or in the key store."""
        with self.ctx.db.read() as s:  # before the key store is touched; checked again in the write
            require(s, actor, Permission.rotate_key)
        if not store.can_rotate:
            raise RuleViolation(f"The master key comes from {store.describe()}, which the console cannot "
                                f"change. Move the key to the OS keyring or a key file, or rotate it there.")
        old = self.ctx.box
        new_key = new_key or secrets.token_bytes(32)
        new = SecretBox(new_key, old.lookup_key)
        if new.key_id == old.key_id:
            raise RuleViolation("The new master key is the current one; nothing was changed.")
        store.save_pending(new_key)
        try:
            with self.ctx.db.write() as s:
                require(s, actor, Permission.rotate_key)
                devices = self._reseal(s, SecurityDevice, SecurityDevice.sealed_secret, device_context, old, new)
                staff = self._reseal(s, StaffMember, StaffMember.sealed_totp_secret, staff_context, old, new)
                now = self.ctx.clock.now()
                write_lookup_row(s, new, now, actor.username)
                audit.record(s, at=now, actor=actor.username, action="key.rotated",
                             summary=f"Master key rotated: {devices} device seeds and {staff} staff secrets "
                                     f"re-sealed under key {new.key_id.hex()}.",
                             details={"old_key_id": old.key_id.hex(), "new_key_id": new.key_id.hex(),
                                      "devices": devices, "staff": staff,
                                      # the staff secrets were re-sealed outside the ORM: their new states
                                      staff_states.DETAILS_KEY: staff_states.all_states(s)})
        except BaseException:
            store.discard_pending()
            raise
        store.promote_pending()
        self.ctx.box = new
        return RotationResult(old.key_id.hex(), new.key_id.hex(), devices, staff)

    @staticmethod
    def _reseal(s: Session, entity: type[SecurityDevice] | type[StaffMember],
                column: InstrumentedAttribute[bytes | None],
                context_of: Callable[[int], str], old: SecretBox, new: SecretBox) -> int:
        """Keyset batches with executemany: constant memory however many rows. Bumps each row's version so
        a desk holding the row from before the rotation is told to reload rather than write the old value."""
        done, last = 0, 0
        while True:
            # Seeds in the PostgreSQL vault are not sealed with the master key (console/models/vault.py).
            rows = s.execute(select(entity.id, column).where(entity.id > last, column.is_not(None),
                                                             func.substr(column, 1, 1) != SERVER_MARK_BYTE)
                             .order_by(entity.id).limit(BATCH)).all()
            if not rows:
                return done
            params = []
            for row_id, sealed in rows:
                assert sealed is not None  # the query selects sealed rows only
                try:
                    plain = old.open(sealed, context_of(row_id))
                except SealingError as exc:
                    raise SealingError(f"{entity.__tablename__} row {row_id} does not open with the current key "
                                       f"({exc}) Nothing was changed.") from None
                params.append({"row_id": row_id, "sealed": new.seal(plain, context_of(row_id))})
            table = table_of(entity)
            s.connection().execute(update(table).where(table.c.id == bindparam("row_id"))
                                   .values({column.key: bindparam("sealed"), "version": table.c.version + 1}),
                                   params)
            done += len(rows)
            last = rows[-1][0]

