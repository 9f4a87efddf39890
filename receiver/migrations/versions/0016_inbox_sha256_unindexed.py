"""inbox: no index on body_sha256

Nothing looks entries up by their digest (it is kept for audit: which deliveries carried
the same bytes), while every webhook's append paid for one more B-tree insert at a random
place, on the accept path that answers Alertmanager (issue 18).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 02:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_inbox_body_sha256", table_name="inbox")


def downgrade() -> None:
    op.create_index("ix_inbox_body_sha256", "inbox", ["body_sha256"], unique=False)
