"""inbox: entries are appended before the answer and applied behind it (issue 18)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch_op:
        batch_op.add_column(
            sa.Column("body_bytes", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("credential", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("pending", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("applied_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("draft_revision", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("quarantined_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_inbox_pending"), ["pending"])
        batch_op.create_index(batch_op.f("ix_inbox_quarantined_at"), ["quarantined_at"])
    # every earlier entry was stored with its effects: it is applied
    op.execute("UPDATE inbox SET applied_at = received_at, body_bytes = length(body)")


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_quarantined_at"))
        batch_op.drop_index(batch_op.f("ix_inbox_pending"))
        for column in (
            "quarantined_at",
            "last_error",
            "attempts",
            "draft_revision",
            "outcome",
            "applied_at",
            "pending",
            "credential",
            "body_bytes",
        ):
            batch_op.drop_column(column)
