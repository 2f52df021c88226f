"""Data derived from the loaded tables: the substring index and the counts per state (kept by triggers), and
the secondary indexes.

Migration 0003 creates the first two. A bulk load may suspend the triggers and drop the secondary indexes,
then rebuild each once at the end: upkeep row by row costs ~50 s per million users on SQLite for the triggers
and about as much for the indexes, a rebuild a few seconds. Missing triggers or indexes mark the derived data
as stale, so an interrupted load is repaired the next time the directory or a bulk load starts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Table
from sqlalchemy.engine import Connection

from console.models import bulk
from console.models.db import Database
from console.models.entities import (
    Account,
    AuditEntry,
    Charge,
    DeviceHolding,
    OptOutAcknowledgement,
    Person,
    Reserve,
    SecurityDevice,
    User,
    UserAccountNumber,
    UserRestriction,
    UserWord,
    table_of,
)

# The tables a bulk load fills (user_words and user_account_numbers through the users triggers or their one
# refill).
LOADED_ENTITIES = (Person, Account, User, SecurityDevice, DeviceHolding, UserRestriction, OptOutAcknowledgement,
                   Reserve, Charge, AuditEntry, UserWord, UserAccountNumber)


def loaded_tables() -> list[Table]:
    return [table_of(entity) for entity in LOADED_ENTITIES]

# SQLite has no split(): a name becomes a JSON array of its words for json_each (as in migration 0012).
_JSON_WORDS = ("""'["' || replace(replace(replace(replace(replace(replace({name}, '\\', '\\\\'), '"', '\\"'), """
               """char(9), ' '), char(10), ' '), char(13), ' '), ' ', '","') || '"]'""")


def _words_of(name: str) -> str:
    json = _JSON_WORDS.format(name=name)
    return f"""json_each(CASE WHEN json_valid({json}) THEN {json} ELSE '[]' END)"""


_FILL_WORDS = ("INSERT OR IGNORE INTO user_words(word, username, user_id) "
               f"SELECT words.value, users.username, users.id FROM users, {_words_of('users.name_key')} AS words "
               "WHERE words.value <> '' ORDER BY 1, 2, 3")  # in key order: appended, not inserted at random
_FILL_ACCOUNT_NUMBERS = ("INSERT INTO user_account_numbers(number, username, user_id) SELECT accounts.number, "
                         "users.username, users.id FROM users JOIN accounts ON accounts.id = users.account_id "
                         "ORDER BY 1, 2, 3")

# Same statements as migrations 0003, 0012 and 0016 (tests/test_users_at_scale.py checks they stay identical).
SQLITE_TRIGGERS = {
    "users_fts_ai": """CREATE TRIGGER users_fts_ai AFTER INSERT ON users BEGIN
         INSERT INTO users_fts(rowid, username, name_key) VALUES (new.id, new.username, new.name_key);
       END""",
    "users_fts_ad": """CREATE TRIGGER users_fts_ad AFTER DELETE ON users BEGIN
         INSERT INTO users_fts(users_fts, rowid, username, name_key)
         VALUES ('delete', old.id, old.username, old.name_key);
       END""",
    "users_fts_au": """CREATE TRIGGER users_fts_au AFTER UPDATE OF username, name_key ON users BEGIN
         INSERT INTO users_fts(users_fts, rowid, username, name_key)
         VALUES ('delete', old.id, old.username, old.name_key);
         INSERT INTO users_fts(rowid, username, name_key) VALUES (new.id, new.username, new.name_key);
       END""",
    "user_state_counts_ai": """CREATE TRIGGER user_state_counts_ai AFTER INSERT ON users BEGIN
         INSERT INTO user_state_counts(sls_state, users) VALUES (new.sls_state, 1)
         ON CONFLICT(sls_state) DO UPDATE SET users = users + 1;
       END""",
    "user_state_counts_ad": """CREATE TRIGGER user_state_counts_ad AFTER DELETE ON users BEGIN
         UPDATE user_state_counts SET users = users - 1 WHERE sls_state = old.sls_state;
       END""",
    "user_state_counts_au": """CREATE TRIGGER user_state_counts_au AFTER UPDATE OF sls_state ON users
       WHEN old.sls_state IS NOT new.sls_state BEGIN
         UPDATE user_state_counts SET users = users - 1 WHERE sls_state = old.sls_state;
         INSERT INTO user_state_counts(sls_state, users) VALUES (new.sls_state, 1)
         ON CONFLICT(sls_state) DO UPDATE SET users = users + 1;
       END""",
    "user_words_ai": f"""CREATE TRIGGER user_words_ai AFTER INSERT ON users BEGIN
         INSERT OR IGNORE INTO user_words(word, username, user_id)
         SELECT value, new.username, new.id FROM {_words_of('new.name_key')} WHERE value <> '';
       END""",
    "user_words_ad": """CREATE TRIGGER user_words_ad AFTER DELETE ON users BEGIN
         DELETE FROM user_words WHERE user_id = old.id;
       END""",
    "user_words_au": f"""CREATE TRIGGER user_words_au AFTER UPDATE OF username, name_key ON users BEGIN
         DELETE FROM user_words WHERE user_id = old.id;
         INSERT OR IGNORE INTO user_words(word, username, user_id)
         SELECT value, new.username, new.id FROM {_words_of('new.name_key')} WHERE value <> '';
       END""",
    "user_account_numbers_ai": """CREATE TRIGGER user_account_numbers_ai AFTER INSERT ON users BEGIN
         INSERT OR IGNORE INTO user_account_numbers(number, username, user_id)
         SELECT number, new.username, new.id FROM accounts WHERE id = new.account_id;
       END""",
    "user_account_numbers_ad": """CREATE TRIGGER user_account_numbers_ad AFTER DELETE ON users BEGIN
         DELETE FROM user_account_numbers WHERE user_id = old.id;
       END""",
    "user_account_numbers_au": """CREATE TRIGGER user_account_numbers_au
       AFTER UPDATE OF username, account_id ON users BEGIN
         DELETE FROM user_account_numbers WHERE user_id = old.id;
         INSERT OR IGNORE INTO user_account_numbers(number, username, user_id)
         SELECT number, new.username, new.id FROM accounts WHERE id = new.account_id;
       END""",
}


# The device counts' insert and delete upkeep (same statements as migration 0010; tests/test_insight.py
# checks the devices table holds exactly the migration's triggers).
SQLITE_DEVICE_TRIGGERS = {
    "device_counts_ai": """CREATE TRIGGER device_counts_ai AFTER INSERT ON devices BEGIN
         INSERT INTO device_counts(kind, state, locked, devices) VALUES (new.kind, new.state, new.locked, 1)
         ON CONFLICT(kind, state, locked) DO UPDATE SET devices = devices + 1;
       END""",
    "device_counts_ad": """CREATE TRIGGER device_counts_ad AFTER DELETE ON devices BEGIN
         UPDATE device_counts SET devices = devices - 1
         WHERE kind = old.kind AND state = old.state AND locked = old.locked;
       END""",
}
# PostgreSQL: the row-by-row triggers a COPY would fire, switched off for the load (ALTER TABLE … DISABLE).
POSTGRES_TRIGGERS = (("users", "user_words_aid"), ("users", "user_account_numbers_aid"),
                     ("users", "user_state_counts_ai"), ("devices", "device_counts_aid"))

_REFILL_COUNTS = (
    "DELETE FROM user_state_counts",
    "INSERT INTO user_state_counts (sls_state, users) SELECT sls_state, count(*) FROM users GROUP BY sls_state",
    "DELETE FROM device_counts",
    "INSERT INTO device_counts (kind, state, locked, devices) "
    "SELECT kind, state, locked, count(*) FROM devices GROUP BY kind, state, locked",
)
_POSTGRES_FILL_WORDS = ("INSERT INTO user_words(word, username, user_id) SELECT DISTINCT w, username, id "
                        "FROM users, regexp_split_to_table(name_key, '\\s+') AS w WHERE w <> '' ORDER BY 1, 2, 3")


def _present(conn: Connection) -> set[str]:
    return {name for (name,) in conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('users', 'devices')")}


def _postgres_disabled(conn: Connection) -> set[str]:
    return {name for (name,) in conn.exec_driver_sql(
        "SELECT tgname FROM pg_trigger WHERE tgrelid IN ('users'::regclass, 'devices'::regclass) "
        "AND NOT tgisinternal AND tgenabled = 'D'")}


def _has_fts(conn: Connection) -> bool:
    return conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'users_fts'").first() is not None


def is_current(conn: Connection) -> bool:
    """True when every upkeep trigger is in place (SQLite) or enabled (PostgreSQL) and every users index is
    (a load drops all the loaded tables' indexes in one transaction and builds the users table's last, so the
    users table tells for all)."""
    if bulk.missing_indexes(conn, [table_of(User)]):
        return False
    if conn.dialect.name == "postgresql":
        return not _postgres_disabled(conn)
    if conn.dialect.name != "sqlite" or not _has_fts(conn):
        return True
    return set(SQLITE_TRIGGERS) | set(SQLITE_DEVICE_TRIGGERS) <= _present(conn)


# Indexes a SQLite load keeps row by row: keys that arrive in order (a batch's new users and devices), so a row
# costs about its share of a rebuild. The writer process is the load's slower side (it pays for every row's
# B-tree work while the builder makes the next batch), so the rest are rebuilt at the end, where sorting in
# small pieces on helper threads makes a rebuild cheaper than row-by-row upkeep in the writer was: keeping the
# devices' and audit entries' indexes cost the writers about 9 s of a million-user load, their rebuilds 5 s.
SQLITE_KEPT_DURING_LOAD = frozenset({
    "ix_device_holdings_user_id", "ix_device_holdings_device_id",
    "ix_user_restrictions_user_id"})


def suspend(conn: Connection) -> None:
    """Stop row-by-row upkeep and drop the loaded tables' secondary indexes (on SQLite, but those it keeps
    during a load); stale until resume()."""
    bulk.drop_indexes(conn, loaded_tables(), keep=SQLITE_KEPT_DURING_LOAD if conn.dialect.name == "sqlite" else ())
    if conn.dialect.name == "postgresql":
        for table, name in POSTGRES_TRIGGERS:
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
        return
    if conn.dialect.name != "sqlite" or not _has_fts(conn):
        return
    for name in (*SQLITE_TRIGGERS, *SQLITE_DEVICE_TRIGGERS):
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


def index_names(conn: Connection, first_id: int, last_id: int) -> None:
    """During a load on SQLite: put a batch's users in the substring index, as its suspended triggers would
    (in the batch's writer, while the next batch is built, instead of in a rebuild at the end)."""
    if conn.dialect.name == "sqlite" and _has_fts(conn):
        conn.exec_driver_sql("INSERT INTO users_fts(rowid, username, name_key) "
                             "SELECT id, username, name_key FROM users WHERE id BETWEEN ? AND ?", (first_id, last_id))


def resume(conn: Connection, names_indexed: bool = False, indexes: bool = True) -> None:
    """Rebuild the substring index, the counts, the name words and account numbers from the users table,
    restore the triggers, then (`indexes`) build the missing indexes. `names_indexed`: the load put each of its
    users in the substring index (index_names), so only users added by others meanwhile are missing from it."""
    with bulk.sorting_in_parallel(conn):
        _rebuild(conn, names_indexed)
    if indexes:  # PostgreSQL's: SQLite's are built apart (_finish)
        bulk.create_missing_indexes(conn, loaded_tables())


def _finish(db: Database, names_indexed: bool = False, only_if_stale: bool = False) -> bool:
    """resume() in a write transaction; on SQLite the missing indexes are then built each in a transaction of its
    own (bulk.create_indexes_apart), the users table's last: is_current() reads those, so an interruption
    meanwhile is still seen and repaired. Returns False when `only_if_stale` and nothing was stale."""
    apart = db.is_sqlite
    with db.write() as s:
        conn = s.connection()
        if only_if_stale and is_current(conn):
            return False
        resume(conn, names_indexed, indexes=not apart)
        missing = bulk.missing_indexes(conn, loaded_tables()) if apart else []
    users = table_of(User)
    bulk.create_indexes_apart(db.engine, sorted(missing, key=lambda index: index.table is users))
    return True


def _add_missing_names(conn: Connection) -> bool:
    """Index the users the substring index lacks (added by a desk while triggers were off); False when it
    holds a user that is gone, which only a rebuild clears. Users are never renamed, so an indexed user's
    entry is current."""
    if conn.exec_driver_sql("SELECT 1 FROM users_fts_docsize WHERE id NOT IN (SELECT id FROM users) LIMIT 1").first():
        return False
    conn.exec_driver_sql("INSERT INTO users_fts(rowid, username, name_key) SELECT id, username, name_key "
                         "FROM users WHERE id NOT IN (SELECT id FROM users_fts_docsize)")
    return True


def _rebuild(conn: Connection, names_indexed: bool = False) -> None:
    if conn.dialect.name == "postgresql":
        disabled = _postgres_disabled(conn)
        if disabled:  # set-based refills, then the row-by-row upkeep again
            for statement in _REFILL_COUNTS:
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql("DELETE FROM user_words")
            conn.exec_driver_sql(_POSTGRES_FILL_WORDS)
            conn.exec_driver_sql("DELETE FROM user_account_numbers")
            conn.exec_driver_sql(_FILL_ACCOUNT_NUMBERS)
            for table, name in POSTGRES_TRIGGERS:
                if name in disabled:
                    conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
    elif conn.dialect.name == "sqlite" and _has_fts(conn):
        if not (names_indexed and _add_missing_names(conn)):
            conn.exec_driver_sql("INSERT INTO users_fts(users_fts) VALUES ('rebuild')")
        for statement in _REFILL_COUNTS:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("DELETE FROM user_words")
        with bulk.sorting_in_parallel(conn, cache_kib=8192):
            conn.exec_driver_sql(_FILL_WORDS)
        conn.exec_driver_sql("DELETE FROM user_account_numbers")
        conn.exec_driver_sql(_FILL_ACCOUNT_NUMBERS)
        present = _present(conn)
        for name, statement in (SQLITE_TRIGGERS | SQLITE_DEVICE_TRIGGERS).items():
            if name not in present:
                conn.exec_driver_sql(statement)


def repair_if_needed(db: Database) -> bool:
    """Finish an interrupted bulk load; returns True when something had to be rebuilt."""
    with db.read() as s:
        if is_current(s.connection()):
            return False
    return _finish(db, only_if_stale=True)


@contextlib.contextmanager
def suspended(db: Database, names_indexed: bool = False) -> Iterator[None]:
    """Run a bulk load without per-row upkeep; rebuilds once afterwards, even if the load fails.
    `names_indexed`: the load calls index_names for every batch it stores (trusted only if it ends well)."""
    with db.write() as s:
        suspend(s.connection())
    finished = False
    try:
        yield
        finished = True
    finally:
        _finish(db, names_indexed and finished)
