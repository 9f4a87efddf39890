"""review: human_fields, audit, incidents.approved_by/approved_at, drafts.created_by

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 20:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.add_column(sa.Column("approved_by", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("drafts") as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.Text(), nullable=True))
    op.create_table(
        "human_fields",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_human_fields_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_human_fields")),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_audit_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
    )
    with op.batch_alter_table("audit") as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    op.drop_table("audit")
    op.drop_table("human_fields")
    with op.batch_alter_table("drafts") as batch_op:
        batch_op.drop_column("created_by")
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by")
