"""What the KPI page reads: the incidents that started in a range, with what their
figures need, in two queries however many there are (the same SQL on both backends)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from receiver.domain.ending import REPORTED_END_KINDS
from receiver.domain.incident import EntryKind, Incident, TimelineEntry
from receiver.domain.kpi import KpiIncident
from receiver.domain.review import ActionItem, HumanFields
from receiver.store.connection import Connection
from receiver.store.mapping import from_row
from receiver.store.schema import drafts, episodes, human_fields, incidents, timeline

# the entries the figures read: acknowledgements, and what known_end weighs
_KINDS = tuple(kind.value for kind in (EntryKind.ACK, EntryKind.ALL_RESOLVED, *REPORTED_END_KINDS))
_earlier = incidents.alias("earlier")
_PREVIOUS_END = (
    sa.select(sa.func.max(_earlier.c.ended_at))
    .where(
        _earlier.c.key == incidents.c.key,
        _earlier.c.id < incidents.c.id,
        _earlier.c.ended_at.is_not(None),
    )
    .scalar_subquery()
)
_FIRST_DRAFT_AT = (
    sa.select(sa.func.min(drafts.c.created_at))
    .where(drafts.c.incident_id == incidents.c.id)
    .scalar_subquery()
)
_HAS_ALERTS = sa.exists().where(episodes.c.incident_id == incidents.c.id)


class KpiStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def incidents(
        self, start: datetime, end: datetime, service: str | None
    ) -> list[KpiIncident]:
        """Incidents that started in [start, end), of the service if one is given."""
        conditions = [incidents.c.started_at >= start, incidents.c.started_at < end]
        if service is not None:
            conditions.append(incidents.c.service == service)
        rows = await self.conn.execute(
            sa.select(
                incidents,
                _PREVIOUS_END.label("previous_end"),
                _FIRST_DRAFT_AT.label("first_draft_at"),
                _HAS_ALERTS.label("has_alerts"),
                human_fields.c.data.label("human"),
            )
            .select_from(incidents.outerjoin(human_fields))
            .where(*conditions)
            .order_by(incidents.c.started_at, incidents.c.id)
        )
        found = rows.all()
        entries = await self._entries(conditions)
        return [
            KpiIncident(
                incident=from_row(Incident, row),
                entries=tuple(entries.get(row.id, ())),
                has_alerts=bool(row.has_alerts),
                previous_end=row.previous_end,
                first_draft_at=row.first_draft_at,
                actions=_actions(row.human),
            )
            for row in found
        ]

    async def services(self) -> list[str]:
        """Every service an incident has had, for the filter."""
        names = await self.conn.scalars(
            sa.select(incidents.c.service).distinct().order_by(incidents.c.service)
        )
        return [str(name) for name in names]

    async def _entries(
        self, conditions: list[sa.ColumnElement[bool]]
    ) -> dict[int, list[TimelineEntry]]:
        rows = await self.conn.execute(
            sa.select(timeline)
            .join(incidents, incidents.c.id == timeline.c.incident_id)
            .where(*conditions, timeline.c.kind.in_(_KINDS))
            .order_by(timeline.c.incident_id, timeline.c.at, timeline.c.id)
        )
        found: dict[int, list[TimelineEntry]] = defaultdict(list)
        for row in rows:
            found[int(row.incident_id)].append(from_row(TimelineEntry, row))
        return found


def _actions(data: Any) -> tuple[ActionItem, ...]:
    """The action plan's items as stored with people's fields (none saved yet: none)."""
    return () if data is None else tuple(HumanFields.model_validate(data).actions)
