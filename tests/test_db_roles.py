"""The desks' PostgreSQL role: what the console needs, the audit trail append-only, enforced by the server."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from console.models import audit
from console.models.context import ServiceContext
from console.models.db_roles import console_role_grants
from console.models.enrollment import EnrollmentService
from console.models.errors import InvalidInput


def test_role_names_are_checked_before_any_sql():
    """A role name is put into GRANT statements: anything but a plain identifier is refused."""
    for bad in ("", "desk; DROP TABLE users", "Desk", "1desk"):
        with pytest.raises(InvalidInput, match="not a PostgreSQL role name"):
            console_role_grants(bad)


def test_the_desk_role_works_the_console_and_only_appends_to_the_audit_trail(desk_db, box, clock, world, agent):
    """Connected as the desks' role, an opt-in goes through (reads, writes, audit entries); changing or removing
    an audit entry, emptying the trail or changing the schema is refused by the server."""
    EnrollmentService(ServiceContext(desk_db, box, clock)).start_ib_key(agent, world.primary_id)
    for statement in ("UPDATE audit_entries SET summary = 'nothing happened'",
                      "DELETE FROM audit_entries",
                      "TRUNCATE audit_entries",
                      "UPDATE alembic_version SET version_num = 'x'",
                      "DROP TABLE users",
                      "CREATE TABLE notes (id integer)"):
        with pytest.raises(ProgrammingError, match="permission denied|must be owner"):
            with desk_db.engine.begin() as conn:
                conn.execute(text(statement))
    with desk_db.read() as s:
        result = audit.verify(s)
        assert result.ok and result.count >= 2
