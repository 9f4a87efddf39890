"""The evidence table's statements: one row per incident, its record frozen as JSON."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from receiver.evidence.record import COMPLETE, PARTIAL, PENDING, EvidenceRecord, StoredEvidence
from receiver.store.connection import Connection
from receiver.store.direct import direct
from receiver.store.schema import evidence

# built once: every recovery and draft asks them
_OF = direct(sa.select(evidence).where(evidence.c.incident_id == sa.bindparam("incident_id")))
_EXISTS = direct(
    sa.select(evidence.c.incident_id).where(evidence.c.incident_id == sa.bindparam("incident_id"))
)
_WANT = direct(sa.insert(evidence))


class EvidenceStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def want(self, incident_id: int, now: datetime) -> None:
        """Ask for the incident's evidence, unless it has some already (kept frozen)."""
        exists = await self.conn.scalar(_EXISTS, {"incident_id": incident_id})
        if exists is None:
            await self.conn.execute(
                _WANT,
                {
                    "incident_id": incident_id,
                    "state": PENDING,
                    "record": None,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "updated_at": now,
                },
            )

    async def of(self, incident_id: int) -> StoredEvidence | None:
        row = (await self.conn.execute(_OF, {"incident_id": incident_id})).first()
        if row is None:
            return None
        record = EvidenceRecord.from_json(row.record) if row.record is not None else None
        return StoredEvidence(row.incident_id, row.state, record, row.attempts)

    async def due(self, now: datetime, limit: int) -> list[int]:
        """Incidents whose evidence is missing or incomplete and due for another try."""
        rows = await self.conn.execute(
            sa.select(evidence.c.incident_id)
            .where(evidence.c.state != COMPLETE, evidence.c.next_attempt_at <= now)
            .order_by(evidence.c.next_attempt_at)
            .limit(limit)
        )
        return [int(row.incident_id) for row in rows]

    async def claim(self, incident_id: int, now: datetime, until: datetime) -> bool:
        """Take a due row until then, unless another replica took it first: the
        conditional UPDATE decides, so each fetch is done by one replica."""
        result = await self.conn.execute(
            evidence.update()
            .where(
                evidence.c.incident_id == incident_id,
                evidence.c.state != COMPLETE,
                evidence.c.next_attempt_at <= now,
            )
            .values(next_attempt_at=until)
        )
        return result.rowcount == 1

    async def save(
        self,
        incident_id: int,
        record: EvidenceRecord,
        attempts: int,
        next_attempt_at: datetime,
        now: datetime,
    ) -> None:
        await self.conn.execute(
            evidence.update()
            .where(evidence.c.incident_id == incident_id)
            .values(
                state=COMPLETE if record.complete else PARTIAL,
                record=record.to_json(),
                attempts=attempts,
                next_attempt_at=next_attempt_at,
                updated_at=now,
            )
        )
