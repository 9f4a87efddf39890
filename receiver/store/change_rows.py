"""The changes table's statements: each change to a service once per (source, source_id),
read back by time window (a draft's) or newest first (the list endpoint)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from receiver.domain.changes import ChangeSource, ChangeType, ServiceChange
from receiver.store.connection import Connection
from receiver.store.direct import direct
from receiver.store.schema import UTCDateTime, changes


class ChangeRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def add(
        self,
        change: ServiceChange,
        *,
        received_at: datetime | None = None,
        inbox_id: int | None = None,
    ) -> tuple[ServiceChange, bool]:
        """The stored change and whether it is new. The same (source, source_id) again
        changes nothing and returns the first one: sources retry, and replays re-apply.
        Two writers racing on one id: the UNIQUE constraint refuses the second, which is
        retried as any write conflict and then finds the first."""
        stored = await self._find(change.source, change.source_id)
        if stored is not None:
            return stored, False
        result = await self.conn.execute(
            changes.insert().values(
                source=change.source.value,
                source_id=change.source_id,
                type=change.type.value,
                service=change.service,
                namespace=change.namespace,
                cluster=change.cluster,
                object_kind=change.object_kind,
                object_name=change.object_name,
                summary=change.summary,
                from_version=change.from_version,
                to_version=change.to_version,
                actor=change.actor,
                started_at=change.started_at,
                finished_at=change.finished_at,
                link=change.link,
                labels=dict(change.labels),
                received_at=received_at or datetime.now(UTC),
                inbox_id=inbox_id,
            )
        )
        assert result.inserted_primary_key is not None
        return replace(change, id=int(result.inserted_primary_key[0])), True

    async def between(self, since: datetime, until: datetime) -> list[ServiceChange]:
        """Changes that started in [since, until], oldest first (then by id: stable)."""
        rows = await self.conn.execute(_BETWEEN, {"since": since, "until": until})
        return [_change(row) for row in rows]

    async def recent(
        self, service: str | None, since: datetime | None, limit: int
    ) -> list[ServiceChange]:
        """The newest changes first, of one service or all, started at or after `since`."""
        conditions = []
        if service is not None:
            conditions.append(changes.c.service == service)
        if since is not None:
            conditions.append(changes.c.started_at >= since)
        rows = await self.conn.execute(
            sa.select(changes)
            .where(*conditions)
            .order_by(changes.c.started_at.desc(), changes.c.id.desc())
            .limit(limit)
        )
        return [_change(row) for row in rows]

    async def _find(self, source: ChangeSource, source_id: str) -> ServiceChange | None:
        row = (
            await self.conn.execute(
                sa.select(changes).where(
                    changes.c.source == source.value, changes.c.source_id == source_id
                )
            )
        ).first()
        return None if row is None else _change(row)


# built once: every draft asks it
_BETWEEN = direct(
    sa.select(changes)
    .where(
        changes.c.started_at >= sa.bindparam("since", type_=UTCDateTime),
        changes.c.started_at <= sa.bindparam("until", type_=UTCDateTime),
    )
    .order_by(changes.c.started_at, changes.c.id)
)


def _change(row: Any) -> ServiceChange:
    return ServiceChange(
        source=ChangeSource(row.source),
        source_id=row.source_id,
        type=ChangeType(row.type),
        service=row.service,
        summary=row.summary,
        started_at=row.started_at,
        finished_at=row.finished_at,
        namespace=row.namespace,
        cluster=row.cluster,
        object_kind=row.object_kind,
        object_name=row.object_name,
        from_version=row.from_version,
        to_version=row.to_version,
        actor=row.actor,
        link=row.link,
        labels=dict(row.labels or {}),
        id=row.id,
    )
