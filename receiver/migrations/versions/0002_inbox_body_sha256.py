"""inbox.body_sha256: a digest of each stored body, backfilled for existing rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 20:20:00
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch_op:
        batch_op.add_column(sa.Column("body_sha256", sa.String(64), nullable=True))
    inbox = sa.table(
        "inbox",
        sa.column("id", sa.Integer),
        sa.column("body", sa.Text),
        sa.column("body_sha256", sa.String),
    )
    conn = op.get_bind()
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(inbox.c.id, inbox.c.body)
            .where(inbox.c.id > last_id)
            .order_by(inbox.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        for row_id, body in rows:
            digest = hashlib.sha256(body.encode()).hexdigest()
            conn.execute(sa.update(inbox).where(inbox.c.id == row_id).values(body_sha256=digest))
        last_id = rows[-1][0]
    with op.batch_alter_table("inbox") as batch_op:
        batch_op.alter_column("body_sha256", existing_type=sa.String(64), nullable=False)
        batch_op.create_index("ix_inbox_body_sha256", ["body_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch_op:
        batch_op.drop_index("ix_inbox_body_sha256")
        batch_op.drop_column("body_sha256")
