"""mailed devices required at login after their window; closed accounts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

- devices.required_at_login_since: set by the start-up run on a mailed device not activated within its
  activation window (indexed: the lists filter on it).
- accounts.closed_at / closed_by / closed_note: an account closed with its holdings ended.

Plain ADD COLUMN on every backend (no batch copy), so the users-table triggers of 0003 are untouched.
New enum members (SLS states no_device and closed, legacy Gold and Platinum devices) need no DDL: enums are
stored by name in plain string columns.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("required_at_login_since", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_devices_required_at_login_since", "devices", ["required_at_login_since"])
    op.add_column("accounts", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("accounts", sa.Column("closed_by", sa.String(64), nullable=True))
    op.add_column("accounts", sa.Column("closed_note", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("accounts", "closed_note")
    op.drop_column("accounts", "closed_by")
    op.drop_column("accounts", "closed_at")
    op.drop_index("ix_devices_required_at_login_since", table_name="devices")
    op.drop_column("devices", "required_at_login_since")
