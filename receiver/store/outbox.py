"""The outbox's statements: enqueue with a change, claim, and record what sending did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from receiver.store.connection import Connection
from receiver.store.schema import outbox


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    incident_id: int | None
    channel: str
    event: str
    message: dict[str, Any]
    created_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class NewMessage:
    incident_id: int | None
    channel: str
    event: str
    message: dict[str, Any]


class OutboxStore:
    """Bound to one connection and its transaction, like the Repository."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def enqueue(self, messages: Sequence[NewMessage], now: datetime) -> None:
        if not messages:
            return
        await self.conn.execute(
            outbox.insert(),
            [
                {
                    "incident_id": m.incident_id,
                    "channel": m.channel,
                    "event": m.event,
                    "message": m.message,
                    "created_at": now,
                    "next_attempt_at": now,
                    "attempts": 0,
                    "pending": True,
                }
                for m in messages
            ],
        )

    async def due(self, now: datetime, limit: int) -> list[OutboxItem]:
        """Unsent messages whose time has come and that no live lease holds, oldest first."""
        rows = await self.conn.execute(
            sa.select(outbox)
            .where(
                outbox.c.pending.is_(True),
                outbox.c.next_attempt_at <= now,
                sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [_item(row) for row in rows]

    async def claim(self, item_id: int, owner: str, now: datetime, lease: timedelta) -> bool:
        """Take the row for `lease`, unless another replica took it first: the
        conditional UPDATE is the arbiter on both backends."""
        result = await self.conn.execute(
            outbox.update()
            .where(
                outbox.c.id == item_id,
                outbox.c.pending.is_(True),
                sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
            )
            .values(claimed_by=owner, claimed_until=now + lease, attempts=outbox.c.attempts + 1)
        )
        return result.rowcount == 1

    async def sent_since(self, channel: str, since: datetime) -> int:
        """Messages sent on `channel` since then (the platforms' limits are per minute)."""
        count = await self.conn.scalar(
            sa.select(sa.func.count())
            .select_from(outbox)
            .where(outbox.c.channel == channel, outbox.c.sent_at >= since)
        )
        return int(count or 0)

    async def mark_sent(self, item_id: int, owner: str, now: datetime) -> None:
        await self.conn.execute(
            outbox.update()
            .where(outbox.c.id == item_id, outbox.c.claimed_by == owner)
            .values(sent_at=now, pending=None, claimed_until=None, last_error=None)
        )

    async def mark_retry(
        self, item_id: int, owner: str, error: str, next_attempt_at: datetime
    ) -> None:
        await self.conn.execute(
            outbox.update()
            .where(outbox.c.id == item_id, outbox.c.claimed_by == owner)
            .values(next_attempt_at=next_attempt_at, claimed_until=None, last_error=error)
        )

    async def mark_failed(self, item_id: int, owner: str, error: str, now: datetime) -> None:
        await self.conn.execute(
            outbox.update()
            .where(outbox.c.id == item_id, outbox.c.claimed_by == owner)
            .values(failed_at=now, pending=None, claimed_until=None, last_error=error)
        )

    async def pending_count(self) -> int:
        count = await self.conn.scalar(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.pending.is_(True))
        )
        return int(count or 0)


def _item(row: sa.Row[Any]) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        incident_id=row.incident_id,
        channel=row.channel,
        event=row.event,
        message=row.message,
        created_at=row.created_at,
        attempts=row.attempts,
    )
