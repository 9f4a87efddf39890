"""The postmortem_policy table's statements: one verdict per incident, a person's
promotion kept over every later evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from receiver.domain.slo import Verdict
from receiver.store.connection import Connection
from receiver.store.schema import incidents, postmortem_policy

REQUIRED, NOT_NEEDED, PENDING = "required", "not_needed", "pending"
STATES = (REQUIRED, NOT_NEEDED, PENDING)
# the incident list's filter: one of the states, or every incident but the not-needed
# ones (those the policy let go are listed apart)
WANTED = "wanted"
FILTERS = (*STATES, WANTED)


def policy_condition(wanted: str) -> sa.ColumnElement[bool]:
    """Incidents whose verdict is `wanted` (a state), or, for WANTED, all but not_needed."""
    if wanted not in FILTERS:
        raise ValueError(f"not a postmortem filter: {wanted!r}")
    state = NOT_NEEDED if wanted == WANTED else wanted
    judged = sa.select(postmortem_policy.c.incident_id).where(postmortem_policy.c.state == state)
    found = incidents.c.id.in_(judged)
    return sa.not_(found) if wanted == WANTED else found


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    state: str  # required | not_needed | pending
    verdict: Verdict
    promoted_by: str | None
    promoted_at: datetime | None
    evaluated_at: datetime


def state_of(verdict: Verdict) -> str:
    if verdict.required:
        return REQUIRED
    return PENDING if verdict.unknown else NOT_NEEDED


class PolicyStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def of(self, incident_id: int) -> StoredVerdict | None:
        row = (
            await self.conn.execute(
                sa.select(postmortem_policy).where(postmortem_policy.c.incident_id == incident_id)
            )
        ).first()
        if row is None:
            return None
        verdict = Verdict(
            row.state == REQUIRED,
            row.trigger,
            row.detail,
            row.slo,
            unknown=row.state == PENDING,
        )
        return StoredVerdict(row.state, verdict, row.promoted_by, row.promoted_at, row.evaluated_at)

    async def save(self, incident_id: int, verdict: Verdict, now: datetime) -> None:
        """Keep the latest evaluation; a promoted incident keeps its promotion."""
        values = {
            "state": state_of(verdict),
            "trigger": verdict.trigger,
            "detail": verdict.detail,
            "slo": verdict.slo,
            "evaluated_at": now,
        }
        updated = await self.conn.execute(
            postmortem_policy.update()
            .where(postmortem_policy.c.incident_id == incident_id)
            .values(**values)
        )
        if updated.rowcount == 0:
            await self.conn.execute(
                postmortem_policy.insert().values(incident_id=incident_id, **values)
            )

    async def promote(self, incident_id: int, by: str, now: datetime) -> None:
        """A person says a postmortem is required: from now on, whatever the figures."""
        await self.conn.execute(
            postmortem_policy.update()
            .where(postmortem_policy.c.incident_id == incident_id)
            .values(
                state=REQUIRED,
                trigger="person",
                detail=by,
                slo="",
                promoted_by=by,
                promoted_at=now,
                evaluated_at=now,
            )
        )

    async def states(self, incident_ids: list[int]) -> dict[int, str]:
        """The state of each of these incidents that has a verdict."""
        if not incident_ids:
            return {}
        rows = await self.conn.execute(
            sa.select(postmortem_policy.c.incident_id, postmortem_policy.c.state).where(
                postmortem_policy.c.incident_id.in_(incident_ids)
            )
        )
        return {int(row.incident_id): str(row.state) for row in rows}
