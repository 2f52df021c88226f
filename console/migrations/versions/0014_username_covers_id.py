"""PostgreSQL: the username indexes carry the user id, so Find's ranges are read from the indexes alone

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01

The users list and Find read (username, id) pairs in username order: the list's windows, the username range of
Find's union. On PostgreSQL the unique index on username held no id, so each range fetched a heap page per user
(1,339 pages for the 2,052 usernames starting "wil" at a million users). The unique constraint is made again
with INCLUDE (id): the same uniqueness, and index-only scans. The (account_id, username) index gets the id too, for
Find's account-number range (users of the accounts whose number starts with the text). SQLite needs nothing: its
indexes carry the row id.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE users DROP CONSTRAINT users_username_key")
    op.execute("ALTER TABLE users ADD CONSTRAINT users_username_key UNIQUE (username) INCLUDE (id)")
    op.execute("DROP INDEX ix_users_account_username")
    op.execute("CREATE INDEX ix_users_account_username ON users (account_id, username) INCLUDE (id)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE users DROP CONSTRAINT users_username_key")
    op.execute("ALTER TABLE users ADD CONSTRAINT users_username_key UNIQUE (username)")
    op.execute("DROP INDEX ix_users_account_username")
    op.execute("CREATE INDEX ix_users_account_username ON users (account_id, username)")
