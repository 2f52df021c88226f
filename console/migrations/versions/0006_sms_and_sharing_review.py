"""SMS as a temporary device (its phone number) and sharing requests that wait for compliance approval

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('devices', sa.Column('phone', sa.String(length=20), nullable=True))
    op.create_table(
        'sharing_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=40), nullable=False),
        sa.Column('why_review', sa.String(length=200), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('requested_by', sa.String(length=64), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_sharing_requests_user_id', 'sharing_requests', ['user_id'])
    op.create_index('ix_sharing_requests_device_id', 'sharing_requests', ['device_id'])
    op.create_index('ix_sharing_requests_state', 'sharing_requests', ['state'])


def downgrade() -> None:
    op.drop_index('ix_sharing_requests_state', table_name='sharing_requests')
    op.drop_index('ix_sharing_requests_device_id', table_name='sharing_requests')
    op.drop_index('ix_sharing_requests_user_id', table_name='sharing_requests')
    op.drop_table('sharing_requests')
    # Plain ALTER (SQLite 3.35+ and PostgreSQL): a batch copy of devices would drop its count triggers (0010).
    op.execute('ALTER TABLE devices DROP COLUMN phone')
