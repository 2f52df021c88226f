"""PostgreSQL privileges of the role the desks connect as: what the console needs and no more.

The schema belongs to another role (the one that runs migrations, the demo and key rotation). The console
role reads and writes the tables, but the audit trail is append-only for it, enforced by the server: no
UPDATE, DELETE or TRUNCATE on audit_entries, on top of the hash chain that `sls-console audit verify` walks.
It may not create, alter or drop anything. Run again after every schema upgrade (new tables get no grants
by themselves). docs/deploy.md explains the set-up.
"""

from __future__ import annotations

import re

from sqlalchemy import text

from console.models.db import Database
from console.models.errors import InvalidInput

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
APPEND_ONLY_TABLES = ("audit_entries",)
READ_ONLY_TABLES = ("alembic_version",)


def console_role_grants(role: str) -> list[str]:
    """The statements, in order, that give `role` exactly the console's privileges on the public schema."""
    if not ROLE_NAME.fullmatch(role or ""):
        raise InvalidInput(f"{role!r} is not a PostgreSQL role name this command accepts: lower-case letters, "
                           f"digits and '_', starting with a letter or '_'.")
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}",
        f"REVOKE CREATE ON SCHEMA public FROM {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        *(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM {role}" for table in READ_ONLY_TABLES),
        *(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}" for table in APPEND_ONLY_TABLES),
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]


def grant_console_role(db: Database, role: str) -> list[str]:
    """Apply console_role_grants as the schema's owner (PostgreSQL only); returns the statements run."""
    if db.is_sqlite:
        raise InvalidInput("Roles and privileges exist on PostgreSQL only; a SQLite file is protected by the "
                           "file system's permissions.")
    statements = console_role_grants(role)
    with db.engine.begin() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if not exists:
            raise InvalidInput(f"There is no PostgreSQL role {role}. Create it first (see docs/deploy.md).")
        for statement in statements:
            conn.execute(text(statement))
    return statements
