"""An incident's similar past incidents, as the page, the opened message and the draft
show them (issue 21): loaded in the caller's transaction, matched by the domain."""

from __future__ import annotations

from receiver.domain.action_items import ItemStatus
from receiver.domain.incident import Incident
from receiver.domain.recurrence import IncidentSketch, Similar, alertname_of, similar
from receiver.store import Repository
from receiver.store.action_items import ItemFilter


async def similar_of(repo: Repository, incident: Incident) -> Similar:
    assert incident.id is not None
    current = IncidentSketch(
        id=incident.id,
        key=incident.key,
        alertname=alertname_of(incident.group_labels, incident.common_labels),
        service=incident.service,
        started_at=incident.started_at,
        ended_at=incident.ended_at,
        status=incident.status.value,
    )
    candidates = await repo.recurrence.candidates(incident)
    if not candidates:
        return Similar()
    found = similar(current, candidates, ())
    if not found.linked:
        return found
    rows = await repo.actions.find(
        ItemFilter(status=ItemStatus.OPEN, incident_ids=tuple(r.past.id for r in found.linked))
    )
    return similar(current, candidates, [row.item for row in rows])
