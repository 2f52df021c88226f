"""Find by any word of the name at a million users: the user_words table

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

Find matches the start of any word of a person's name. Through the substring index that meant reading every
Smith's users row to order them by username (~150 ms for "smi" at a million users). user_words holds each
word of each user's name with the username, keyed (word, username, user_id): a word prefix is one range of
that key, counted and ordered by username without touching the users table. Kept by triggers on users on
both databases (a bulk load on SQLite suspends them and refills the table once, see user_index.py).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite has no split(): the name becomes a JSON array of its words for json_each (quotes and backslashes
# escaped; tabs and line breaks count as spaces). Kept identical to console/models/user_index.py.
SQLITE_WORDS_OF = """json_each(CASE WHEN json_valid({j}) THEN {j} ELSE '[]' END)"""
SQLITE_JSON = ("""'["' || replace(replace(replace(replace(replace(replace({name}, '\\', '\\\\'), '"', '\\"'), """
               """char(9), ' '), char(10), ' '), char(13), ' '), ' ', '","') || '"]'""")


def sqlite_words(name: str) -> str:
    return SQLITE_WORDS_OF.format(j=SQLITE_JSON.format(name=name))


SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER user_words_ai AFTER INSERT ON users BEGIN
         INSERT OR IGNORE INTO user_words(word, username, user_id)
         SELECT value, new.username, new.id FROM {sqlite_words('new.name_key')} WHERE value <> '';
       END""",
    """CREATE TRIGGER user_words_ad AFTER DELETE ON users BEGIN
         DELETE FROM user_words WHERE user_id = old.id;
       END""",
    f"""CREATE TRIGGER user_words_au AFTER UPDATE OF username, name_key ON users BEGIN
         DELETE FROM user_words WHERE user_id = old.id;
         INSERT OR IGNORE INTO user_words(word, username, user_id)
         SELECT value, new.username, new.id FROM {sqlite_words('new.name_key')} WHERE value <> '';
       END""",
)
SQLITE_FILL = ("INSERT OR IGNORE INTO user_words(word, username, user_id) "
               f"SELECT words.value, users.username, users.id FROM users, {sqlite_words('users.name_key')} AS words "
               "WHERE words.value <> '' ORDER BY 1, 2, 3")  # in key order: appended, not inserted at random

POSTGRES_WORDS = (
    """CREATE FUNCTION user_words_maintain() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP IN ('DELETE', 'UPDATE') THEN
           DELETE FROM user_words WHERE user_id = OLD.id;
         END IF;
         IF TG_OP IN ('INSERT', 'UPDATE') THEN
           INSERT INTO user_words(word, username, user_id)
           SELECT DISTINCT w, NEW.username, NEW.id FROM regexp_split_to_table(NEW.name_key, '\\s+') AS w
           WHERE w <> '';
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER user_words_aid AFTER INSERT OR DELETE ON users
       FOR EACH ROW EXECUTE FUNCTION user_words_maintain()""",
    """CREATE TRIGGER user_words_au AFTER UPDATE OF username, name_key ON users
       FOR EACH ROW EXECUTE FUNCTION user_words_maintain()""",
)
POSTGRES_FILL = ("INSERT INTO user_words(word, username, user_id) SELECT DISTINCT w, username, id "
                 "FROM users, regexp_split_to_table(name_key, '\\s+') AS w WHERE w <> ''")


def upgrade() -> None:
    op.create_table('user_words',
    sa.Column('word', sa.String(length=200), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('word', 'username', 'user_id'),
    sqlite_with_rowid=False,
    )
    op.create_index('ix_user_words_user_id', 'user_words', ['user_id'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        op.execute(SQLITE_FILL)
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    elif bind.dialect.name == 'postgresql':
        op.execute(POSTGRES_FILL)
        for statement in POSTGRES_WORDS:
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        for name in ('user_words_ai', 'user_words_ad', 'user_words_au'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif bind.dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS user_words_au ON users")
        op.execute("DROP TRIGGER IF EXISTS user_words_aid ON users")
        op.execute("DROP FUNCTION IF EXISTS user_words_maintain()")
    op.drop_index('ix_user_words_user_id', table_name='user_words')
    op.drop_table('user_words')
