"""dashboard figures at scale: audit entries per day, devices per kind and state, indexes

Revision ID: 0010
Revises: 0003
Create Date: 2026-11-30

The dashboard opens in under a second at a million users, so none of its figures scans a big table:
- audit_day_counts: audit entries per UTC day, action, staff member and opt-in path (opt-ins and opt-outs per
  week, sign-in failures, staff activity). The model layer adds to it in the transaction that writes the
  entries (console/models/activity_counts.py); filled here from the entries already written.
- device_counts: devices per kind, state and lock, kept by triggers on devices (as user_state_counts is).
- indexes for charges per month, temporary access in force, shipped cards by deadline, returns by due date
  and locked devices.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Mirrors activity_counts.path_of for the entries written before this table existed.
_PATH_SQL = """CASE WHEN action = 'user.enrolled' THEN CASE
      WHEN {shared} THEN 'shared'
      WHEN {kind} = 'ib_key' THEN 'ib_key'
      WHEN {kind} IN ('code_card', 'online_code_card') THEN 'card'
      WHEN {kind} = 'dsc_plus' THEN 'dsc_plus'
      ELSE 'other' END ELSE '' END"""
SQLITE_PATH = _PATH_SQL.format(shared="coalesce(json_extract(details, '$.shared'), 0)",
                               kind="json_extract(details, '$.device_kind')")
POSTGRES_PATH = _PATH_SQL.format(shared="coalesce((details::jsonb ->> 'shared') = 'true', false)",
                                 kind="(details::jsonb ->> 'device_kind')")

SQLITE_TRIGGERS = (
    """CREATE TRIGGER device_counts_ai AFTER INSERT ON devices BEGIN
         INSERT INTO device_counts(kind, state, locked, devices) VALUES (new.kind, new.state, new.locked, 1)
         ON CONFLICT(kind, state, locked) DO UPDATE SET devices = devices + 1;
       END""",
    """CREATE TRIGGER device_counts_ad AFTER DELETE ON devices BEGIN
         UPDATE device_counts SET devices = devices - 1
         WHERE kind = old.kind AND state = old.state AND locked = old.locked;
       END""",
    """CREATE TRIGGER device_counts_au AFTER UPDATE OF kind, state, locked ON devices
       WHEN old.kind IS NOT new.kind OR old.state IS NOT new.state OR old.locked IS NOT new.locked BEGIN
         UPDATE device_counts SET devices = devices - 1
         WHERE kind = old.kind AND state = old.state AND locked = old.locked;
         INSERT INTO device_counts(kind, state, locked, devices) VALUES (new.kind, new.state, new.locked, 1)
         ON CONFLICT(kind, state, locked) DO UPDATE SET devices = devices + 1;
       END""",
)
SQLITE_TRIGGER_NAMES = ("device_counts_ai", "device_counts_ad", "device_counts_au")

POSTGRES_TRIGGERS = (
    """CREATE FUNCTION device_counts_maintain() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP IN ('DELETE', 'UPDATE') THEN
           UPDATE device_counts SET devices = devices - 1
           WHERE kind = OLD.kind AND state = OLD.state AND locked = OLD.locked;
         END IF;
         IF TG_OP IN ('INSERT', 'UPDATE') THEN
           INSERT INTO device_counts(kind, state, locked, devices) VALUES (NEW.kind, NEW.state, NEW.locked, 1)
           ON CONFLICT (kind, state, locked) DO UPDATE SET devices = device_counts.devices + 1;
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER device_counts_aid AFTER INSERT OR DELETE ON devices
       FOR EACH ROW EXECUTE FUNCTION device_counts_maintain()""",
    """CREATE TRIGGER device_counts_au AFTER UPDATE OF kind, state, locked ON devices
       FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.state IS DISTINCT FROM NEW.state
                          OR OLD.locked IS DISTINCT FROM NEW.locked)
       EXECUTE FUNCTION device_counts_maintain()""",
)


def create_sqlite_triggers() -> None:
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table('audit_day_counts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=16), nullable=False),
    sa.Column('entries', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'action', 'actor', 'path')
    )
    op.create_index('ix_audit_day_counts_actor_day', 'audit_day_counts', ['actor', 'day'], unique=False)
    if dialect == 'postgresql':
        day, path = "(at AT TIME ZONE 'UTC')::date", POSTGRES_PATH
    else:
        day, path = "date(at)", SQLITE_PATH
    op.execute(f"INSERT INTO audit_day_counts (day, action, actor, path, entries) "
               f"SELECT {day}, action, actor, {path}, count(*) FROM audit_entries "
               f"GROUP BY {day}, action, actor, {path}")

    op.create_table('device_counts',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('devices', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'state', 'locked')
    )
    op.execute("INSERT INTO device_counts (kind, state, locked, devices) "
               "SELECT kind, state, locked, count(*) FROM devices GROUP BY kind, state, locked")
    if dialect == 'postgresql':
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    elif dialect == 'sqlite':
        create_sqlite_triggers()

    op.create_index('ix_charges_created_at', 'charges', ['created_at'], unique=False)
    op.create_index('ix_charges_waived_at', 'charges', ['waived_at'], unique=False)
    op.create_index('ix_devices_kind_state_expires', 'devices', ['kind', 'state', 'expires_at'], unique=False)
    op.create_index('ix_devices_state_activation_due', 'devices', ['state', 'activation_due_at', 'shipped_at'],
                    unique=False)
    op.create_index('ix_devices_state_return_due', 'devices', ['state', 'return_due_at'], unique=False)
    op.create_index('ix_devices_locked', 'devices', ['id'], unique=False,
                    sqlite_where=sa.text('locked = 1'), postgresql_where=sa.text('locked'))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index('ix_devices_locked', table_name='devices')
    op.drop_index('ix_devices_state_return_due', table_name='devices')
    op.drop_index('ix_devices_state_activation_due', table_name='devices')
    op.drop_index('ix_devices_kind_state_expires', table_name='devices')
    op.drop_index('ix_charges_waived_at', table_name='charges')
    op.drop_index('ix_charges_created_at', table_name='charges')
    if dialect == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS device_counts_au ON devices")
        op.execute("DROP TRIGGER IF EXISTS device_counts_aid ON devices")
        op.execute("DROP FUNCTION IF EXISTS device_counts_maintain()")
    elif dialect == 'sqlite':
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('device_counts')
    op.drop_index('ix_audit_day_counts_actor_day', table_name='audit_day_counts')
    op.drop_table('audit_day_counts')
