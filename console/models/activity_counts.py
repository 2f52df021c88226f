"""Audit entries counted per day, action, staff member and opt-in path, in the transaction that writes them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from console.models.entities import AuditDayCount, table_of

ENROLLED = "user.enrolled"
OPTED_OUT = "user.opted_out"
# The ways into SLS the dashboard shows (the opt-in options of the client article, plus a mailed DSC+).
PATH_LABELS = {"ib_key": "IB Key", "card": "Code card", "shared": "Shared device", "dsc_plus": "DSC+",
               "other": "Other"}
_KIND_PATH = {"ib_key": "ib_key", "code_card": "card", "online_code_card": "card", "dsc_plus": "dsc_plus"}

Key = tuple[dt.date, str, str, str]


def path_of(action: str, details: Mapping[str, Any] | None) -> str:
    """The opt-in path an enrollment entry records ('' for any other action)."""
    if action != ENROLLED:
        return ""
    details = details or {}
    if details.get("shared"):
        return "shared"
    return _KIND_PATH.get(str(details.get("device_kind", "")), "other")


def key_of(at: dt.datetime, actor: str, action: str, details: Mapping[str, Any] | None) -> Key:
    return at.astimezone(dt.UTC).date(), action[:64], actor[:64], path_of(action, details)


def add(session: Session, keys: Iterable[Key]) -> None:
    """Add one to each key's count (a batch is folded first: one upsert per distinct key)."""
    add_counted(session, Counter(keys))


def add_counted(session: Session, counts: Mapping[Key, int]) -> None:
    """Add each key's number to its count (one upsert per key)."""
    if not counts:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = table_of(AuditDayCount)
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=["day", "action", "actor", "path"],
                                      set_={"entries": table.c.entries + stmt.excluded.entries})
    session.execute(stmt, [{"day": day, "action": action, "actor": actor, "path": path, "entries": n}
                           for (day, action, actor, path), n in counts.items()])
