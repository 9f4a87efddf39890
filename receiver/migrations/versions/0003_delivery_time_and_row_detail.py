"""incidents.last_delivery_at (backfilled from updated_at) and timeline.detail

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.add_column(sa.Column("last_delivery_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE incidents SET last_delivery_at = updated_at")
    with op.batch_alter_table("timeline") as batch_op:
        batch_op.add_column(sa.Column("detail", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("timeline") as batch_op:
        batch_op.drop_column("detail")
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.drop_column("last_delivery_at")
