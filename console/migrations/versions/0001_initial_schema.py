"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Every table of the first release. accounts.rights_holder_id and users.account_id refer to each
other, so the accounts -> users key is added once users exists. The audit chain's head row is
seeded with the genesis hash.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.Enum('individual', 'joint', 'organization', name='account_kind', native_enum=False, length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('rights_holder_id', sa.Integer(), nullable=True),
    sa.Column('equity_cents', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_rights_holder_id'), ['rights_holder_id'], unique=False)

    op.create_table('audit_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_user_id'), ['user_id'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('persons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('citizenship', sa.String(length=2), nullable=True),
    sa.Column('country_of_residence', sa.String(length=2), nullable=True),
    sa.Column('id_document_type', sa.String(length=32), nullable=True),
    sa.Column('id_document_number', sa.String(length=64), nullable=True),
    sa.Column('ssn', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('help_desk', 'back_office', 'auditor', 'administrator', name='staff_role', native_enum=False, length=40), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('sealed_totp_secret', sa.LargeBinary(), nullable=True),
    sa.Column('last_time_step', sa.BigInteger(), nullable=True),
    sa.Column('failed_signins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('ib_key', 'dsc_plus', 'code_card', 'online_code_card', 'temporary_passcode', name='device_kind', native_enum=False, length=40), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=True),
    sa.Column('state', sa.Enum('in_stock', 'shipped', 'pending', 'active', 'lost', 'stolen', 'damaged', 'replaced', 'return_pending', 'returned', 'expired', 'revoked', name='device_state', native_enum=False, length=40), nullable=False),
    sa.Column('sealed_secret', sa.LargeBinary(), nullable=True),
    sa.Column('secret_hash', sa.LargeBinary(), nullable=True),
    sa.Column('secret_salt', sa.LargeBinary(), nullable=True),
    sa.Column('last_time_step', sa.BigInteger(), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activation_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('full_access_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_reason', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['replaces_id'], ['devices.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('serial')
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_replaces_id'), ['replaces_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_return_due_at'), ['return_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_state'), ['state'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('primary', 'secondary', name='user_role', native_enum=False, length=40), nullable=False),
    sa.Column('sls_state', sa.Enum('enrolled', 'opted_out', 'pending', name='sls_state', native_enum=False, length=40), nullable=False),
    sa.Column('active_devices', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_users_account_username', ['account_id', 'username'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_active_devices'), ['active_devices'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_sls_state'), ['sls_state'], unique=False)
        batch_op.create_index('ix_users_state_username', ['sls_state', 'username'], unique=False)

    op.create_table('challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenges_device_id'), ['device_id'], unique=False)

    op.create_table('charges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('replacement', 'not_returned', name='charge_kind', native_enum=False, length=40), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('pending', 'billed', 'waived', name='charge_status', native_enum=False, length=40), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('waived_reason', sa.Text(), nullable=True),
    sa.Column('waived_by', sa.String(length=64), nullable=True),
    sa.Column('waived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charges_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charges_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charges_status'), ['status'], unique=False)
        batch_op.create_index('uq_charge_device_kind', ['device_id', 'kind'], unique=True)

    op.create_table('device_holdings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('preferred', sa.Boolean(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'device_id', name='uq_holding_user_device')
    )
    with op.batch_alter_table('device_holdings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_holdings_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_holdings_user_id'), ['user_id'], unique=False)

    op.create_table('opt_out_acknowledgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('opt_out_acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opt_out_acknowledgements_user_id'), ['user_id'], unique=False)

    op.create_table('reserves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id')
    )
    with op.batch_alter_table('reserves', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reserves_account_id'), ['account_id'], unique=False)

    op.create_table('user_restrictions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('restriction', sa.Enum('no_pink_sheet_otcbb', 'reduced_withdrawal_limits', 'ip_restriction_before_penny_stocks', name='restriction', native_enum=False, length=40), nullable=False),
    sa.Column('imposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user_restrictions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_restrictions_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_accounts_rights_holder', 'users', ['rights_holder_id'], ['id'])
    op.bulk_insert(sa.table('audit_head', sa.column('id', sa.Integer), sa.column('last_id', sa.BigInteger),
                            sa.column('last_hash', sa.String), sa.column('count', sa.BigInteger)),
                   [{'id': 1, 'last_id': 0, 'last_hash': '0' * 64, 'count': 0}])


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_accounts_rights_holder', type_='foreignkey')
    with op.batch_alter_table('user_restrictions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_restrictions_user_id'))

    op.drop_table('user_restrictions')
    with op.batch_alter_table('reserves', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reserves_account_id'))

    op.drop_table('reserves')
    with op.batch_alter_table('opt_out_acknowledgements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opt_out_acknowledgements_user_id'))

    op.drop_table('opt_out_acknowledgements')
    with op.batch_alter_table('device_holdings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_holdings_user_id'))
        batch_op.drop_index(batch_op.f('ix_device_holdings_device_id'))

    op.drop_table('device_holdings')
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_index('uq_charge_device_kind')
        batch_op.drop_index(batch_op.f('ix_charges_status'))
        batch_op.drop_index(batch_op.f('ix_charges_device_id'))
        batch_op.drop_index(batch_op.f('ix_charges_account_id'))

    op.drop_table('charges')
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenges_device_id'))

    op.drop_table('challenges')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_state_username')
        batch_op.drop_index(batch_op.f('ix_users_sls_state'))
        batch_op.drop_index(batch_op.f('ix_users_person_id'))
        batch_op.drop_index(batch_op.f('ix_users_name_key'))
        batch_op.drop_index(batch_op.f('ix_users_active_devices'))
        batch_op.drop_index('ix_users_account_username')
        batch_op.drop_index(batch_op.f('ix_users_account_id'))

    op.drop_table('users')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_state'))
        batch_op.drop_index(batch_op.f('ix_devices_return_due_at'))
        batch_op.drop_index(batch_op.f('ix_devices_replaces_id'))
        batch_op.drop_index(batch_op.f('ix_devices_kind'))
        batch_op.drop_index(batch_op.f('ix_devices_account_id'))

    op.drop_table('devices')
    op.drop_table('staff')
    op.drop_table('settings')
    op.drop_table('persons')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_user_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_device_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_action'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_account_id'))

    op.drop_table('audit_entries')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_rights_holder_id'))

    op.drop_table('accounts')
