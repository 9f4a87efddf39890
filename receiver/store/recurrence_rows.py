"""The past incidents a new one may repeat (issue 21): same key, or same service (the
alertname is compared in receiver.domain.recurrence: it lives in the labels' JSON)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from receiver.domain.action_items import ItemStatus
from receiver.domain.incident import Incident
from receiver.domain.recurrence import IncidentSketch, alertname_of
from receiver.store.connection import Connection
from receiver.store.direct import direct
from receiver.store.schema import UTCDateTime, action_items, incidents

CANDIDATES = 200  # the newest matching incidents read; the domain keeps the last three


_open_actions = (
    sa.select(sa.func.count())
    .where(
        action_items.c.incident_id == incidents.c.id,
        action_items.c.list_name == "actions",
        action_items.c.status == ItemStatus.OPEN.value,
    )
    .scalar_subquery()
)
# built once: every draft and opened message asks it
_CANDIDATES = direct(
    sa.select(
        incidents.c.id,
        incidents.c.key,
        incidents.c.service,
        incidents.c.group_labels,
        incidents.c.common_labels,
        incidents.c.started_at,
        incidents.c.ended_at,
        incidents.c.status,
        _open_actions.label("open_actions"),
    )
    .where(
        sa.or_(
            incidents.c.key == sa.bindparam("key"),
            incidents.c.service == sa.bindparam("service"),
        ),
        incidents.c.id != sa.bindparam("incident_id"),
        incidents.c.started_at < sa.bindparam("started_at", type_=UTCDateTime),
    )
    .order_by(incidents.c.started_at.desc(), incidents.c.id.desc())
    .limit(CANDIDATES)
)
_TITLES = direct(
    sa.select(incidents.c.id, incidents.c.title).where(
        incidents.c.id.in_(sa.bindparam("ids", expanding=True))
    )
)


class RecurrenceStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def candidates(self, incident: Incident) -> list[IncidentSketch]:
        rows = await self.conn.execute(
            _CANDIDATES,
            {
                "key": incident.key,
                "service": incident.service or None,  # no service: matched by key alone
                "incident_id": incident.id,
                "started_at": incident.started_at,
            },
        )
        return [_sketch(row) for row in rows]

    async def titles(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = await self.conn.execute(_TITLES, {"ids": ids})
        return {row.id: row.title for row in rows}


def _sketch(row: Any) -> IncidentSketch:
    return IncidentSketch(
        id=row.id,
        key=row.key,
        alertname=alertname_of(row.group_labels or {}, row.common_labels or {}),
        service=row.service,
        started_at=row.started_at,
        ended_at=row.ended_at,
        status=row.status,
        open_actions=int(row.open_actions or 0),
    )
