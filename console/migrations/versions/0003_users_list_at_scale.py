"""users list at scale: substring search index, maintained counts per SLS state, role index

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-26

The users list must stay instant with a million users:
- substring search over usernames and names: on SQLite an FTS5 trigram table (external content, the users
  table itself) kept in sync by triggers; on PostgreSQL trigram GIN indexes from pg_trgm when the extension
  can be created, otherwise nothing (the directory falls back to a plain LIKE scan).
- user_state_counts: users per SLS state, kept by triggers, so the unfiltered counts are one tiny read
  instead of a scan of every user on each keystroke.
- ix_users_role and (sls_state, name_key | role | active_devices): the list sorts by any column, with or
  without a state filter, by reading an index in order.

Note for later migrations: on SQLite, a batch operation that recreates the users table drops these
triggers; such a migration must run create_sqlite_triggers() again (and rebuild users_fts).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    # Substring index: the external-content FTS5 table follows every insert, delete and rename.
    """CREATE TRIGGER users_fts_ai AFTER INSERT ON users BEGIN
         INSERT INTO users_fts(rowid, username, name_key) VALUES (new.id, new.username, new.name_key);
       END""",
    """CREATE TRIGGER users_fts_ad AFTER DELETE ON users BEGIN
         INSERT INTO users_fts(users_fts, rowid, username, name_key)
         VALUES ('delete', old.id, old.username, old.name_key);
       END""",
    """CREATE TRIGGER users_fts_au AFTER UPDATE OF username, name_key ON users BEGIN
         INSERT INTO users_fts(users_fts, rowid, username, name_key)
         VALUES ('delete', old.id, old.username, old.name_key);
         INSERT INTO users_fts(rowid, username, name_key) VALUES (new.id, new.username, new.name_key);
       END""",
    # Counts per state.
    """CREATE TRIGGER user_state_counts_ai AFTER INSERT ON users BEGIN
         INSERT INTO user_state_counts(sls_state, users) VALUES (new.sls_state, 1)
         ON CONFLICT(sls_state) DO UPDATE SET users = users + 1;
       END""",
    """CREATE TRIGGER user_state_counts_ad AFTER DELETE ON users BEGIN
         UPDATE user_state_counts SET users = users - 1 WHERE sls_state = old.sls_state;
       END""",
    """CREATE TRIGGER user_state_counts_au AFTER UPDATE OF sls_state ON users
       WHEN old.sls_state IS NOT new.sls_state BEGIN
         UPDATE user_state_counts SET users = users - 1 WHERE sls_state = old.sls_state;
         INSERT INTO user_state_counts(sls_state, users) VALUES (new.sls_state, 1)
         ON CONFLICT(sls_state) DO UPDATE SET users = users + 1;
       END""",
)
SQLITE_TRIGGER_NAMES = ("users_fts_ai", "users_fts_ad", "users_fts_au", "user_state_counts_ai",
                        "user_state_counts_ad", "user_state_counts_au")

POSTGRES_COUNTS = (
    """CREATE FUNCTION user_state_counts_maintain() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP IN ('DELETE', 'UPDATE') THEN
           UPDATE user_state_counts SET users = users - 1 WHERE sls_state = OLD.sls_state;
         END IF;
         IF TG_OP IN ('INSERT', 'UPDATE') THEN
           INSERT INTO user_state_counts(sls_state, users) VALUES (NEW.sls_state, 1)
           ON CONFLICT (sls_state) DO UPDATE SET users = user_state_counts.users + 1;
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER user_state_counts_ai AFTER INSERT OR DELETE ON users
       FOR EACH ROW EXECUTE FUNCTION user_state_counts_maintain()""",
    """CREATE TRIGGER user_state_counts_au AFTER UPDATE OF sls_state ON users
       FOR EACH ROW WHEN (OLD.sls_state IS DISTINCT FROM NEW.sls_state)
       EXECUTE FUNCTION user_state_counts_maintain()""",
)


def create_sqlite_triggers() -> None:
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    op.create_table('user_state_counts',
    sa.Column('sls_state', sa.String(length=40), nullable=False),
    sa.Column('users', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('sls_state')
    )
    op.execute("INSERT INTO user_state_counts (sls_state, users) "
               "SELECT sls_state, count(*) FROM users GROUP BY sls_state")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_role', ['role'], unique=False)
        batch_op.create_index('ix_users_state_name', ['sls_state', 'name_key'], unique=False)
        batch_op.create_index('ix_users_state_role', ['sls_state', 'role'], unique=False)
        batch_op.create_index('ix_users_state_devices', ['sls_state', 'active_devices'], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        op.execute("CREATE VIRTUAL TABLE users_fts USING fts5(username, name_key, content='users', "
                   "content_rowid='id', tokenize='trigram')")
        op.execute("INSERT INTO users_fts(users_fts) VALUES ('rebuild')")
        create_sqlite_triggers()
    elif bind.dialect.name == 'postgresql':
        for statement in POSTGRES_COUNTS:
            op.execute(statement)
        # pg_trgm needs the right to create extensions; without it substring search is a plain LIKE scan.
        savepoint = bind.begin_nested()
        try:
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            savepoint.commit()
        except sa.exc.DBAPIError:
            savepoint.rollback()
        else:
            op.execute("CREATE INDEX ix_users_name_key_trgm ON users USING gin (name_key gin_trgm_ops)")
            op.execute("CREATE INDEX ix_users_username_trgm ON users USING gin (username gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS users_fts")
    elif bind.dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_users_username_trgm")
        op.execute("DROP INDEX IF EXISTS ix_users_name_key_trgm")
        op.execute("DROP TRIGGER IF EXISTS user_state_counts_au ON users")
        op.execute("DROP TRIGGER IF EXISTS user_state_counts_ai ON users")
        op.execute("DROP FUNCTION IF EXISTS user_state_counts_maintain()")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_state_devices')
        batch_op.drop_index('ix_users_state_role')
        batch_op.drop_index('ix_users_state_name')
        batch_op.drop_index('ix_users_role')
    op.drop_table('user_state_counts')
