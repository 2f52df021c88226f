"""return_reason: one vocabulary, the names of ReturnReason

Revision ID: 0004
Revises: 0010
Create Date: 2026-11-30

Until now the column took free text from four places: the report reasons (lost, stolen, damaged,
battery_failure), the revocation of a DSC+ (no_longer_needed), the opt-out ("opt-out") and, for a device
that came back unasked, the name of the state it was in. The ORM now maps it to ReturnReason, stored by
member name in the same VARCHAR(64) (no table rebuild, so the device triggers stay). This converts the old
spellings; a value that means none of them stops the upgrade, naming it, rather than being dropped.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASONS = ("lost", "stolen", "damaged", "battery_failure", "no_longer_needed", "opted_out")
# Old spellings: the opt-out's, and a device received back from return_pending with no reason recorded.
RENAMED = {"opt-out": "opted_out", "return_pending": "no_longer_needed"}


def upgrade() -> None:
    conn = op.get_bind()
    for old, new in RENAMED.items():
        conn.execute(sa.text("UPDATE devices SET return_reason = :new WHERE return_reason = :old"),
                     {"old": old, "new": new})
    unknown = [row[0] for row in conn.execute(
        sa.text("SELECT DISTINCT return_reason FROM devices WHERE return_reason IS NOT NULL "
                "AND return_reason NOT IN :known").bindparams(sa.bindparam("known", expanding=True)),
        {"known": list(REASONS)})]
    if unknown:
        raise RuntimeError(f"devices.return_reason holds values no return reason means: {', '.join(unknown)}. "
                           f"Correct them to one of {', '.join(REASONS)} and upgrade again; nothing was changed.")


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE devices SET return_reason = 'opt-out' WHERE return_reason = 'opted_out'"))
