"""Find by account number at a million users: the user_account_numbers table

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01

Find's account-number range (the users of the accounts whose number starts with the text) looked up each
account's users one by one and sorted them all by username: "U12" matches 7,393 accounts with 11,075 users at
a million, about 45 ms on PostgreSQL for the count and again for the first window. user_account_numbers holds
each user with its account's number and its username, keyed (number, username, user_id) like user_words: a
number prefix is one range of that key, counted and cut to its first usernames from the key alone (4 and 2 ms).
Kept by triggers on users (insert, delete, a change of username or account) and on accounts (a change of
number) on both databases; a bulk load suspends the users triggers and refills the table once (user_index.py).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept identical to console/models/user_index.py (tests/test_users_at_scale.py compares them).
SQLITE_TRIGGERS = (
    """CREATE TRIGGER user_account_numbers_ai AFTER INSERT ON users BEGIN
         INSERT OR IGNORE INTO user_account_numbers(number, username, user_id)
         SELECT number, new.username, new.id FROM accounts WHERE id = new.account_id;
       END""",
    """CREATE TRIGGER user_account_numbers_ad AFTER DELETE ON users BEGIN
         DELETE FROM user_account_numbers WHERE user_id = old.id;
       END""",
    """CREATE TRIGGER user_account_numbers_au AFTER UPDATE OF username, account_id ON users BEGIN
         DELETE FROM user_account_numbers WHERE user_id = old.id;
         INSERT OR IGNORE INTO user_account_numbers(number, username, user_id)
         SELECT number, new.username, new.id FROM accounts WHERE id = new.account_id;
       END""",
    """CREATE TRIGGER user_account_numbers_renumbered AFTER UPDATE OF number ON accounts BEGIN
         UPDATE user_account_numbers SET number = new.number WHERE number = old.number;
       END""",
)
FILL = ("INSERT INTO user_account_numbers(number, username, user_id) SELECT accounts.number, users.username, "
        "users.id FROM users JOIN accounts ON accounts.id = users.account_id ORDER BY 1, 2, 3")

POSTGRES_TRIGGERS = (
    """CREATE FUNCTION user_account_numbers_maintain() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP IN ('DELETE', 'UPDATE') THEN
           DELETE FROM user_account_numbers WHERE user_id = OLD.id;
         END IF;
         IF TG_OP IN ('INSERT', 'UPDATE') THEN
           INSERT INTO user_account_numbers(number, username, user_id)
           SELECT number, NEW.username, NEW.id FROM accounts WHERE id = NEW.account_id;
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER user_account_numbers_aid AFTER INSERT OR DELETE ON users
       FOR EACH ROW EXECUTE FUNCTION user_account_numbers_maintain()""",
    """CREATE TRIGGER user_account_numbers_au AFTER UPDATE OF username, account_id ON users
       FOR EACH ROW EXECUTE FUNCTION user_account_numbers_maintain()""",
    """CREATE FUNCTION user_account_numbers_renumber() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE user_account_numbers SET number = NEW.number WHERE number = OLD.number;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER user_account_numbers_renumbered AFTER UPDATE OF number ON accounts
       FOR EACH ROW EXECUTE FUNCTION user_account_numbers_renumber()""",
)


def upgrade() -> None:
    op.create_table('user_account_numbers',
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('number', 'username', 'user_id'),
    sqlite_with_rowid=False,
    )
    op.create_index('ix_user_account_numbers_user_id', 'user_account_numbers', ['user_id'], unique=False)
    op.execute(FILL)
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    elif bind.dialect.name == 'postgresql':
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        for name in ('user_account_numbers_ai', 'user_account_numbers_ad', 'user_account_numbers_au',
                     'user_account_numbers_renumbered'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif bind.dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS user_account_numbers_renumbered ON accounts")
        op.execute("DROP TRIGGER IF EXISTS user_account_numbers_au ON users")
        op.execute("DROP TRIGGER IF EXISTS user_account_numbers_aid ON users")
        op.execute("DROP FUNCTION IF EXISTS user_account_numbers_renumber()")
        op.execute("DROP FUNCTION IF EXISTS user_account_numbers_maintain()")
    op.drop_index('ix_user_account_numbers_user_id', table_name='user_account_numbers')
    op.drop_table('user_account_numbers')
