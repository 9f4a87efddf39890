"""The action items' rows (issue 21): rewritten with each save of the human fields, read by
the actions page, the API, reminders and recurrence; and the reminders already queued."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from receiver.domain.action_items import ItemStatus, TrackedItem
from receiver.store.connection import Connection
from receiver.store.schema import action_items, action_reminders, incidents


@dataclass(frozen=True, slots=True)
class ItemRow:
    """A tracked item with what the lists show of its incident."""

    item: TrackedItem
    service: str
    incident_title: str
    incident_status: str
    created_revision: int | None
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class ItemFilter:
    owner: str = ""
    service: str = ""
    status: ItemStatus | None = None
    overdue_before: date | None = None  # only open items due before this day
    due_until: date | None = None  # only items due on or before this day
    incident_ids: tuple[int, ...] | None = None


class ActionItemStore:
    """Bound to one connection and its transaction, like the Repository."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def sync(
        self,
        incident_id: int,
        items: Sequence[TrackedItem],
        *,
        actor: str,
        revision: int | None,
        now: datetime,
    ) -> None:
        """Make the incident's rows say what its human fields say: new items inserted,
        changed ones updated (done_at set when one becomes done), removed ones deleted."""
        rows = await self.conn.execute(
            sa.select(action_items.c.id, action_items.c.status, action_items.c.done_at).where(
                action_items.c.incident_id == incident_id
            )
        )
        before = {row.id: row for row in rows}
        wanted = {item.id for item in items}
        gone = [item_id for item_id in before if item_id not in wanted]
        if gone:
            await self.conn.execute(action_items.delete().where(action_items.c.id.in_(gone)))
        for item in items:
            values: dict[str, Any] = {
                "list_name": item.list_name,
                "kind": item.kind,
                "position": item.position,
                "text": item.text,
                "owner": item.owner,
                "due": item.due,
                "status": item.status.value,
                "reason": item.reason,
                "ticket": item.ticket,
                "priority": item.priority or None,
            }
            old = before.get(item.id)
            if old is None:
                await self.conn.execute(
                    action_items.insert().values(
                        id=item.id,
                        incident_id=incident_id,
                        created_revision=revision,
                        created_by=actor,
                        created_at=now,
                        updated_at=now,
                        done_at=now if item.status is ItemStatus.DONE else None,
                        **values,
                    )
                )
                continue
            if item.status is not ItemStatus.DONE:
                values["done_at"] = None
            elif old.status != ItemStatus.DONE.value or old.done_at is None:
                values["done_at"] = now
            await self.conn.execute(
                action_items.update()
                .where(action_items.c.id == item.id, action_items.c.incident_id == incident_id)
                .values(updated_at=now, **values)
            )

    async def get(self, item_id: str) -> ItemRow | None:
        rows = await self._select([action_items.c.id == item_id], limit=1)
        return rows[0] if rows else None

    async def find(self, wanted: ItemFilter, limit: int = 1000) -> list[ItemRow]:
        """Matching items, by due date (undated last), then incident and position."""
        where: list[sa.ColumnElement[bool]] = []
        if wanted.owner:
            where.append(action_items.c.owner == wanted.owner)
        if wanted.service:
            where.append(incidents.c.service == wanted.service)
        if wanted.status is not None:
            where.append(action_items.c.status == wanted.status.value)
        if wanted.overdue_before is not None:
            where.append(action_items.c.status == ItemStatus.OPEN.value)
            where.append(action_items.c.due < wanted.overdue_before)
        if wanted.due_until is not None:
            where.append(action_items.c.due <= wanted.due_until)
        if wanted.incident_ids is not None:
            where.append(action_items.c.incident_id.in_(list(wanted.incident_ids)))
        return await self._select(where, limit=limit)

    async def _select(self, where: Sequence[sa.ColumnElement[bool]], limit: int) -> list[ItemRow]:
        statement = (
            sa.select(
                action_items,
                incidents.c.service,
                incidents.c.title,
                incidents.c.status.label("incident_status"),
            )
            .join(incidents, incidents.c.id == action_items.c.incident_id)
            .where(*where)
            .order_by(
                action_items.c.due.is_(None),
                action_items.c.due,
                action_items.c.incident_id,
                action_items.c.list_name,
                action_items.c.position,
            )
            .limit(limit)
        )
        return [_row(row) for row in await self.conn.execute(statement)]

    async def services(self) -> list[str]:
        rows = await self.conn.scalars(
            sa.select(incidents.c.service)
            .join(action_items, incidents.c.id == action_items.c.incident_id)
            .distinct()
            .order_by(incidents.c.service)
        )
        return [str(s) for s in rows]

    async def claim_reminder(self, key: str, now: datetime) -> bool:
        """Note that `key` (an item's day, a channel's week) was queued; False when some
        replica already did. The primary key decides, without a read first."""
        dialect = await self.conn.run_sync(lambda c: c.dialect.name)
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        result = await self.conn.execute(
            insert(action_reminders).values(key=key, queued_at=now).on_conflict_do_nothing()
        )
        return result.rowcount == 1


def _row(row: sa.Row[Any]) -> ItemRow:
    return ItemRow(
        item=TrackedItem(
            id=row.id,
            incident_id=row.incident_id,
            list_name=row.list_name,
            kind=row.kind,
            position=row.position,
            text=row.text,
            owner=row.owner,
            due=row.due,
            status=ItemStatus(row.status),
            reason=row.reason,
            ticket=row.ticket,
            priority=row.priority or "",
        ),
        service=row.service,
        incident_title=row.title,
        incident_status=row.incident_status,
        created_revision=row.created_revision,
        created_at=row.created_at,
        updated_at=row.updated_at,
        done_at=row.done_at,
    )
