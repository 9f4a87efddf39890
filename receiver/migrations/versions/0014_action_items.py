"""action_items and action_reminders: tracked action items and the reminders sent (issue 21)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 02:00:00
"""

import secrets
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_items",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("list_name", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ticket", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=True),
        sa.Column("created_revision", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_action_items_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
    )
    op.create_index(op.f("ix_action_items_incident_id"), "action_items", ["incident_id"])
    op.create_index(op.f("ix_action_items_owner"), "action_items", ["owner"])
    op.create_index(op.f("ix_action_items_due"), "action_items", ["due"])
    op.create_index(op.f("ix_action_items_status"), "action_items", ["status"])
    op.create_table(
        "action_reminders",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_action_reminders")),
    )
    _track_existing_items()


# the tables as this revision knows them (not the code's current models)
_HUMAN = sa.table(
    "human_fields",
    sa.column("incident_id", sa.Integer),
    sa.column("data", sa.JSON),
    sa.column("updated_at", sa.DateTime),
    sa.column("updated_by", sa.Text),
)
_ITEMS = sa.table(
    "action_items",
    *(sa.column(name) for name in ("id", "incident_id", "list_name", "kind", "position")),
    *(sa.column(name) for name in ("text", "owner", "status", "reason", "ticket")),
    sa.column("due", sa.Date),
    sa.column("created_revision", sa.Integer),
    sa.column("created_by", sa.Text),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
    sa.column("done_at", sa.DateTime),
)


def _track_existing_items() -> None:
    """Items people wrote before this revision get their stable ids, and those with an
    owner a row. When an old item was done is not known: its done_at stays empty."""
    bind = op.get_bind()
    for row in bind.execute(sa.select(_HUMAN)).all():
        data: dict[str, Any] = dict(row.data or {})
        rows: list[dict[str, Any]] = []
        for list_name, kind_key, default in (
            ("actions", "horizon", "immediate"),
            ("improvements", "area", "tech_short"),
        ):
            items = [dict(item) for item in data.get(list_name) or []]
            for position, item in enumerate(items):
                item.setdefault("id", "")
                item.setdefault("dropped", "")
                item.setdefault("ticket", "")
                if not item["id"]:
                    item["id"] = secrets.token_hex(8)
                if not item.get("owner"):
                    continue
                rows.append(
                    {
                        "id": item["id"],
                        "incident_id": row.incident_id,
                        "list_name": list_name,
                        "kind": item.get(kind_key) or default,
                        "position": position,
                        "text": item.get("text", ""),
                        "owner": item["owner"],
                        "due": date.fromisoformat(item["due"]) if item.get("due") else None,
                        "status": "done" if item.get("done") else "open",
                        "reason": "",
                        "ticket": "",
                        "created_revision": None,
                        "created_by": row.updated_by,
                        "created_at": row.updated_at,
                        "updated_at": row.updated_at,
                        "done_at": None,
                    }
                )
            data[list_name] = items
        bind.execute(
            sa.update(_HUMAN).where(_HUMAN.c.incident_id == row.incident_id).values(data=data)
        )
        if rows:
            bind.execute(sa.insert(_ITEMS), rows)


def downgrade() -> None:
    op.drop_table("action_reminders")
    for column in ("status", "due", "owner", "incident_id"):
        op.drop_index(op.f(f"ix_action_items_{column}"), table_name="action_items")
    op.drop_table("action_items")
