"""What the KPI page reads of the SLOs: each incident's SLO figures, from its evidence."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from receiver.domain.slo_kpi import SloIncident
from receiver.evidence.record import EvidenceRecord
from receiver.store.connection import Connection
from receiver.store.schema import evidence, incidents


class SloKpiStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def figures(
        self, start: datetime, end: datetime, service: str | None
    ) -> list[SloIncident]:
        """The SLO figures of the incidents that started in [start, end)."""
        conditions = [
            incidents.c.started_at >= start,
            incidents.c.started_at < end,
            evidence.c.record.is_not(None),
        ]
        if service is not None:
            conditions.append(incidents.c.service == service)
        rows = await self.conn.execute(
            sa.select(
                incidents.c.id, incidents.c.service, incidents.c.started_at, evidence.c.record
            )
            .join(evidence, evidence.c.incident_id == incidents.c.id)
            .where(*conditions)
            .order_by(incidents.c.started_at, incidents.c.id)
        )
        found: list[SloIncident] = []
        for row in rows:
            record = EvidenceRecord.from_json(row.record)
            found.extend(
                SloIncident(
                    int(row.id),
                    str(row.service),
                    figure.name,
                    row.started_at,
                    figure.burned,
                    figure.impact_start,
                    figure.estimated,
                )
                for figure in record.slos
                if figure.reason is None
            )
        return found
