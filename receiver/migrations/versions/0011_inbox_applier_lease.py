"""inbox_applier: the lease of the replica that applies the inbox (issue 18)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "inbox_applier",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_inbox_applier")),
    )
    op.bulk_insert(table, [{"name": "applier", "holder": None, "lease_until": None}])


def downgrade() -> None:
    op.drop_table("inbox_applier")
