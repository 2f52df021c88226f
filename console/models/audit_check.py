"""`sls-console audit verify` on a file: SQLite's integrity check first, then the hash chain. A file that cannot
be read is "unreadable" (DatabaseDamaged), never "tampered" and never "intact"."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import exc

from console.models import audit
from console.models.db import Database
from console.models.errors import DatabaseDamaged, NotFound
from console.models.faults import describe_database, explain
from console.models.schema import current_revision

RESTORE = "the audit trail cannot be verified on it; restore the file from a backup and verify that"


def verify_database(db: Database) -> audit.VerifyResult:
    """The chain's verdict (ok, or the first changed entry); DatabaseDamaged when the file cannot be read whole,
    NotFound when it is not a console database."""
    where = describe_database(db.url)
    if db.is_sqlite and db.engine.url.database and not Path(db.engine.url.database).exists():
        raise NotFound(f"There is no database file {db.engine.url.database}; check the path in --database.")
    try:
        problems = db.integrity_problems()
    except exc.DBAPIError as error:
        raise DatabaseDamaged(explain(error, db.url)) from error
    if problems:
        raise DatabaseDamaged(f"{where[:1].upper()}{where[1:]} is damaged: SQLite's integrity check reports "
                              f"{problems[0]!r}{f' and {len(problems) - 1} more' if len(problems) > 1 else ''}; "
                              f"{RESTORE}.")
    if current_revision(db) is None:
        raise NotFound(f"{db.display_name} is not an SLS Console database (no schema found).")
    try:
        with db.read() as s:
            return audit.verify(s)
    except exc.DBAPIError as error:
        raise DatabaseDamaged(explain(error, db.url)) from error
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatabaseDamaged(f"An audit entry in {where} cannot be read ("
                              f"{str(error)[:120]}): the file is damaged or was changed outside the console; "
                              f"{RESTORE}.") from error
