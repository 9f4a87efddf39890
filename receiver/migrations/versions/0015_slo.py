"""postmortem_policy: whether an incident requires a postmortem, and why (issue 22)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "postmortem_policy",
        sa.Column("incident_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("slo", sa.Text(), nullable=False),
        sa.Column("promoted_by", sa.Text(), nullable=True),
        sa.Column("promoted_at", sa.DateTime(), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_postmortem_policy")),
    )
    op.create_index(op.f("ix_postmortem_policy_state"), "postmortem_policy", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_postmortem_policy_state"), table_name="postmortem_policy")
    op.drop_table("postmortem_policy")
