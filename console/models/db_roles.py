"""PostgreSQL privileges of the role the desks connect as: what the console needs and no more.

The schema belongs to another role (the one that runs migrations, the demo and key rotation). The console
role reads and writes the tables, but the audit trail is append-only for it, enforced by the server: no
UPDATE, DELETE or TRUNCATE on audit_entries, on top of the hash chain that `sls-console audit verify` walks.
It may not create, alter or drop anything. Second factors: it may not read device seeds or the hashes of card
values and passcodes, nor the vault's server key; it stores and checks them only through the vault's functions
(console/models/vault.py). Run again after every schema upgrade (new tables get no grants by themselves).
docs/deploy.md explains the set-up.
"""

from __future__ import annotations

import re

from sqlalchemy import text

from console.models import vault
from console.models.db import Database
from console.models.entities import Challenge, SecurityDevice
from console.models.errors import InvalidInput
from console.models.sealing import SecretBox

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
APPEND_ONLY_TABLES = ("audit_entries",)
READ_ONLY_TABLES = ("alembic_version",)
OWNER_ONLY_TABLES = ("vault_keys", "vault_failures")
OWNER_ONLY_SEQUENCES = ("vault_checks",)  # counts every code check the vault answers
# Columns of devices the desks may not read: seeds and the hashes of card values and passcodes.
SECRET_DEVICE_COLUMNS = ("sealed_secret", "secret_hash")
VAULT_FUNCTIONS = (
    "sls_vault_store_seed(bigint, bytea, bytea)",
    "sls_vault_otp_match(bigint, bytea, text, bigint, bigint, integer)",
    "sls_vault_store_hashes(bigint, bytea, integer)",
    "sls_vault_slots_match(bigint, integer[], bytea[])",
    "sls_vault_unlock(bigint)",
    "sls_vault_store_code(bigint, bytea)",
    "sls_vault_code_matches(bigint, bytea)",
    "sls_vault_slot_count(bigint, integer)",
)


def console_role_grants(role: str) -> list[str]:
    """The statements, in order, that give `role` exactly the console's privileges on the public schema."""
    if not ROLE_NAME.fullmatch(role or ""):
        raise InvalidInput(f"{role!r} is not a PostgreSQL role name this command accepts: lower-case letters, "
                           f"digits and '_', starting with a letter or '_'.")
    readable = [c.name for c in SecurityDevice.__table__.columns if c.name not in SECRET_DEVICE_COLUMNS]
    challenge_columns = [c.name for c in Challenge.__table__.columns if c.name != "secret_hash"]
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}",
        f"REVOKE CREATE ON SCHEMA public FROM {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        *(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM {role}" for table in READ_ONLY_TABLES),
        *(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}" for table in APPEND_ONLY_TABLES),
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        *(f"REVOKE ALL ON {table} FROM {role}" for table in OWNER_ONLY_TABLES),
        *(f"REVOKE ALL ON SEQUENCE {sequence} FROM {role}" for sequence in OWNER_ONLY_SEQUENCES),
        f"REVOKE SELECT, UPDATE ON devices FROM {role}",
        # Neither read nor cleared by a desk: a seed or hash cleared could be stored again with one it knows.
        f"GRANT SELECT ({', '.join(readable)}), UPDATE ({', '.join(readable)}) ON devices TO {role}",
        # A texted code's hash: neither read nor replaced by a desk (only the vault's functions touch it).
        f"REVOKE SELECT, UPDATE ON challenges FROM {role}",
        f"GRANT SELECT ({', '.join(challenge_columns)}), UPDATE ({', '.join(challenge_columns)}) ON challenges "
        f"TO {role}",
        *(f"GRANT EXECUTE ON FUNCTION {function} TO {role}" for function in VAULT_FUNCTIONS),
    ]


def grant_console_role(db: Database, role: str, box: SecretBox | None = None) -> list[str]:
    """Apply console_role_grants as the schema's owner (PostgreSQL only); returns the statements run. With the
    master key's box, seeds still sealed by a desk (from before the vault, or the demo) move into the vault first:
    once the grant is made the desks could not read them."""
    if db.is_sqlite:
        raise InvalidInput("Roles and privileges exist on PostgreSQL only; a SQLite file is protected by the "
                           "file system's permissions.")
    statements = console_role_grants(role)
    if box is not None:
        with db.write() as s:
            vault.adopt_sealed_seeds(s, box)
    with db.engine.begin() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if not exists:
            raise InvalidInput(f"There is no PostgreSQL role {role}. Create it first (see docs/deploy.md).")
        for statement in statements:
            conn.execute(text(statement))
    return statements
