"""Action items (issue 21): list them across incidents, and change one's status — the
same change as ticking it in the incident's form: the human fields are edited, audited,
the draft redrawn and the item's row rewritten, in one transaction."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from receiver.domain.action_items import ItemNotFound, ItemStatus, with_status
from receiver.domain.incident import Change
from receiver.domain.moments import in_zone
from receiver.store import Database, Repository
from receiver.store.action_items import ItemFilter, ItemRow
from receiver.usecases.recording import Recorder
from receiver.usecases.review import store_fields
from receiver.usecases.unit_of_work import Clock, load


class ActionItems:
    def __init__(self, db: Database, recorder: Recorder, clock: Clock, zone: ZoneInfo) -> None:
        self.db = db
        self.zone = zone
        self.recorder = recorder
        self.clock = clock

    async def find(self, wanted: ItemFilter) -> list[ItemRow]:
        async with self.db.read() as repo:
            return await repo.actions.find(wanted)

    async def find_one(self, item_id: str) -> ItemRow:
        async with self.db.read() as repo:
            row = await repo.actions.get(item_id)
        if row is None:
            raise ItemNotFound(f"no action item {item_id!r}")
        return row

    async def services(self) -> list[str]:
        async with self.db.read() as repo:
            return await repo.actions.services()

    async def set_status(self, item_id: str, status: ItemStatus, reason: str, actor: str) -> int:
        """Mark an item open, done or dropped (with a reason); its incident's id. Allowed
        after approval too: following an approved postmortem's items through is the point."""
        found: list[int] = []

        async def step(repo: Repository, now: datetime) -> Change:
            row = await repo.actions.get(item_id)
            if row is None:
                raise ItemNotFound(f"no action item {item_id!r}")
            incident_id = row.item.incident_id
            found.append(incident_id)
            state = await load(repo, incident_id)  # locked, as the form's saves are
            before = await repo.human_fields_of(incident_id)
            after = with_status(before, item_id, status, reason)
            latest = await repo.latest_draft(incident_id)
            extra: dict[str, object] = {"item": item_id, "status": status.value}
            latest_revision = latest.revision if latest else 0
            return await store_fields(
                repo, state, before, after, actor, now, latest_revision, extra
            )

        await self.recorder.record("action_status", step)
        return found[0]

    def today(self) -> date:
        """The team's date now: an item due before it and still open is overdue."""
        return in_zone(self.clock(), self.zone).date()
