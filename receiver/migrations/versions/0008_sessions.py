"""sessions and login_failures: page sessions that logout ends, and failed logins

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.Text(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("credential", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_last_seen_at"), "sessions", ["last_seen_at"])
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_blocked_until"), "login_failures", ["blocked_until"])


def downgrade() -> None:
    op.drop_index(op.f("ix_login_failures_blocked_until"), table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_index(op.f("ix_sessions_last_seen_at"), table_name="sessions")
    op.drop_table("sessions")
