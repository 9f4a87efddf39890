"""evidence: what Prometheus showed during an incident, frozen for its draft

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("incident_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("record", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_evidence")),
    )
    op.create_index(op.f("ix_evidence_state"), "evidence", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_state"), table_name="evidence")
    op.drop_table("evidence")
