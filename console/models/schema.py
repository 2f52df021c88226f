"""Creating and upgrading the schema with Alembic, on whatever database the console was given."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from console.models.db import Database
from console.models.errors import SchemaTooNew

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# From this revision on, staff rows are covered by the audit trail (console/models/staff_states.py).
STAFF_STATES_FROM = "0011"


def upgrade(db: Database, revision: str = "head") -> None:
    require_known_revision(db)
    before = current_revision(db) if revision == "head" else None
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    known = known_revisions()
    if before is not None and before in known[known.index(STAFF_STATES_FROM) + 1:]:
        from console.models.staff_states import record_baseline

        with db.write() as s:
            record_baseline(s, dt.datetime.now(dt.UTC))


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_known_revision(db: Database) -> None:
    """Refuse a database a newer console has upgraded: this one would misread (or damage) what it cannot know."""
    current = current_revision(db)
    if current is not None and current not in known_revisions():
        from console import __version__

        raise SchemaTooNew(f"{db.display_name} is at schema revision {current}, which this console (version "
                           f"{__version__}, newest revision {head_revision()}) does not know: a newer SLS Console "
                           f"upgraded it. Install that newer version on this desk; nothing was changed.")


def known_revisions() -> list[str]:
    """Every migration this console carries, newest first (ids say nothing of order: follow the chain)."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [script.revision for script in scripts.walk_revisions()]


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise RuntimeError("The console's migrations are missing from its installation; reinstall it.")
    return head
