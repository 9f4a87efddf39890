"""Issue 18: writing an incident back writes the columns that changed since the
transaction loaded (or wrote) that very object: a repeat notification moves a timestamp,
and its UPDATE no longer re-encodes and rewrites every label set."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from receiver.domain.incident import Incident
from receiver.store import Repository
from receiver.store.schema import incidents
from receiver.usecases.service import IncidentService
from tests.conftest import capture
from tests.inbox import apply_all


async def one_incident(service: IncidentService) -> int:
    await service.accept("alertmanager", json.dumps(capture("firing_group_3")), None)
    await apply_all(service)
    async with service.db.read() as repo:
        incident_id = await repo.conn.scalar(sa.select(sa.func.max(incidents.c.id)))
    assert incident_id is not None
    return int(incident_id)


async def stored_incident(service: IncidentService, incident_id: int) -> Incident:
    async with service.db.read() as repo:
        incident = await repo.get_incident(incident_id)
    assert incident is not None
    return incident


async def write_behind(repo: Repository, incident_id: int, **values: object) -> None:
    """A column written in the same transaction by a statement of its own."""
    await repo.conn.execute(
        sa.update(incidents).where(incidents.c.id == incident_id).values(**values)
    )


async def test_only_the_columns_that_changed_since_the_load_are_written(
    service: IncidentService,
) -> None:
    incident_id = await one_incident(service)
    async with service.db.write() as repo:
        state = await repo.load_state(incident_id)
        incident = state.incident
        delivered = incident.updated_at + timedelta(minutes=5)
        incident.last_delivery_at = delivered
        # a column this object did not change: the row's value must stay
        await write_behind(repo, incident_id, title="written behind")
        await repo.update_incident(incident)
        # and the object's next write, after this one, writes its next change alone
        incident.common_annotations["summary"] = "changed in place"
        await write_behind(repo, incident_id, title="written behind again")
        await repo.update_incident(incident)
    stored = await stored_incident(service, incident_id)
    assert stored.last_delivery_at == delivered
    assert stored.title == "written behind again"
    # a label set changed in place counts as changed
    assert stored.common_annotations["summary"] == "changed in place"


async def test_an_object_this_transaction_did_not_load_is_written_whole(
    service: IncidentService,
) -> None:
    incident_id = await one_incident(service)
    incident = await stored_incident(service, incident_id)
    async with service.db.write() as repo:
        await write_behind(repo, incident_id, title="written behind")
        await repo.update_incident(incident)  # read elsewhere: every column is written
    assert (await stored_incident(service, incident_id)).title == incident.title
    assert incident.title != "written behind"
