"""change_verdicts: what a person said of a change for one incident (the cause, or not
related), which the draft's candidates follow (issue 20)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_verdicts",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_change_verdicts_incident_id_incidents"),
        ),
        sa.ForeignKeyConstraint(
            ["change_id"], ["changes.id"], name=op.f("fk_change_verdicts_change_id_changes")
        ),
        sa.PrimaryKeyConstraint("incident_id", "change_id", name=op.f("pk_change_verdicts")),
    )


def downgrade() -> None:
    op.drop_table("change_verdicts")
