"""People's verdicts on changes, per incident ("the cause", "not related"), and the
incidents a change falls in: what ties the changes table to incidents."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from receiver.domain.incident import IncidentStatus
from receiver.domain.moments import shifted
from receiver.domain.suspects import Verdict, VerdictMark
from receiver.store.connection import Connection
from receiver.store.direct import direct
from receiver.store.schema import change_verdicts, changes, incidents

# built once: every draft with changes asks it
_OF = direct(
    sa.select(change_verdicts)
    .where(change_verdicts.c.incident_id == sa.bindparam("incident_id"))
    .order_by(change_verdicts.c.change_id)
)


class ChangeVerdicts:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def of(self, incident_id: int) -> list[VerdictMark]:
        rows = await self.conn.execute(_OF, {"incident_id": incident_id})
        return [VerdictMark(row.change_id, Verdict(row.verdict), row.actor, row.at) for row in rows]

    async def mark(self, incident_id: int, mark: VerdictMark) -> None:
        """One verdict per (incident, change): a new one replaces what was said before."""
        await self.clear(incident_id, mark.change_id)
        await self.conn.execute(
            change_verdicts.insert().values(
                incident_id=incident_id,
                change_id=mark.change_id,
                verdict=mark.verdict.value,
                actor=mark.actor,
                at=mark.at,
            )
        )

    async def clear(self, incident_id: int, change_id: int) -> None:
        await self.conn.execute(
            change_verdicts.delete().where(
                change_verdicts.c.incident_id == incident_id,
                change_verdicts.c.change_id == change_id,
            )
        )

    async def change_exists(self, change_id: int) -> bool:
        row = await self.conn.execute(sa.select(changes.c.id).where(changes.c.id == change_id))
        return row.first() is not None

    async def incidents_after(self, service: str, at: datetime, window: timedelta) -> list[int]:
        """Incidents of the service that started in [at, at + window]: what followed a
        change to it."""
        rows = await self.conn.execute(
            sa.select(incidents.c.id)
            .where(
                incidents.c.service == service,
                incidents.c.started_at >= at,
                incidents.c.started_at <= shifted(at, window),
            )
            .order_by(incidents.c.started_at, incidents.c.id)
        )
        return [row.id for row in rows]

    async def incidents_around(self, at: datetime, window: timedelta) -> list[int]:
        """Recovered incidents not yet approved whose window (from `window` before their
        first alert to their end) holds `at`: the drafts a change arriving late may move."""
        rows = await self.conn.execute(
            sa.select(incidents.c.id)
            .where(
                incidents.c.ended_at.is_not(None),
                incidents.c.ended_at >= at,
                incidents.c.started_at <= shifted(at, window),
                incidents.c.status.not_in(
                    [IncidentStatus.FIRING.value, IncidentStatus.APPROVED.value]
                ),
            )
            .order_by(incidents.c.id)
        )
        return [row.id for row in rows]
