"""A stored device seed read back for computing codes in tests: on SQLite as the desk would (it holds
everything), on PostgreSQL as the schema's owner with the desks' vault key, which is what the tests connect as
(no desk can: tests/test_vault.py)."""

from __future__ import annotations

import base64

from sqlalchemy import text

from console.models import vault
from console.models.entities import SecurityDevice


def stored_seed(ctx, device_id: int) -> str:
    with ctx.db.read() as s:
        if not vault.on_server(s):
            return vault.open_seed(s, ctx.box, s.get(SecurityDevice, device_id))
        raw = s.scalar(text("SELECT pgp_sym_decrypt_bytea(substring(sealed_secret FROM 2), "
                            "sls_vault_seed_key(id, :k)) FROM devices WHERE id = :d"),
                       {"k": vault.vault_key(ctx.box), "d": device_id})
        return base64.b32encode(raw).decode()
