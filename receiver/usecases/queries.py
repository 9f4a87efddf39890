"""Reading incidents, drafts and the inbox; and pruning the inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from receiver.domain.incident import Episode, Incident, IncidentStatus, TimelineEntry
from receiver.domain.review import HumanFields
from receiver.store import (
    AuditRecord,
    Backlog,
    Database,
    InboxEntry,
    InboxRecord,
    Repository,
    StoredDraft,
)
from receiver.usecases.errors import IncidentNotFound


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    incident: Incident
    episodes: list[Episode]
    timeline: list[TimelineEntry]
    drafts: list[StoredDraft]
    fields: HumanFields


@dataclass(frozen=True, slots=True)
class IncidentPage:
    """What the incident's review page shows, read in one transaction."""

    incident_id: int
    detail: IncidentDetail
    fields: HumanFields
    audit: list[AuditRecord]


class Queries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_incidents(
        self,
        *,
        limit: int,
        offset: int,
        status: IncidentStatus | None = None,
        service: str | None = None,
        priority: str | None = None,
    ) -> tuple[list[Incident], int]:
        async with self.db.read() as repo:
            return await repo.list_incidents(
                limit=limit, offset=offset, status=status, service=service, priority=priority
            )

    async def incident_detail(self, incident_id: int) -> IncidentDetail:
        async with self.db.read() as repo:
            return await _detail(repo, incident_id)

    async def incident_page(self, incident_id: int) -> IncidentPage:
        async with self.db.read() as repo:
            detail = await _detail(repo, incident_id)
            return IncidentPage(
                incident_id=incident_id,
                detail=detail,
                fields=detail.fields,
                audit=await repo.audit_of(incident_id),
            )

    async def unapproved_counts(self) -> dict[tuple[str, str], int]:
        """(severity, status) → number of incidents not yet approved."""
        async with self.db.read() as repo:
            return await repo.unapproved_counts()

    async def current_draft(self, incident_id: int) -> StoredDraft:
        async with self.db.read() as repo:
            if await repo.get_incident(incident_id) is None:
                raise IncidentNotFound(f"no incident with id {incident_id}")
            draft = await repo.latest_draft(incident_id)
        if draft is None:
            raise IncidentNotFound(f"incident {incident_id} has no draft yet (still firing?)")
        return draft

    async def draft_at(self, incident_id: int, revision: int) -> StoredDraft:
        async with self.db.read() as repo:
            draft = await repo.draft_revision(incident_id, revision)
        if draft is None:
            raise IncidentNotFound(f"incident {incident_id} has no draft revision {revision}")
        return draft

    async def incident_ids_with_drafts(self) -> list[int]:
        async with self.db.read() as repo:
            return await repo.incident_ids_with_drafts()

    async def inbox(
        self, *, since: datetime | None, incident_id: int | None, after_id: int, limit: int
    ) -> list[InboxRecord]:
        async with self.db.read() as repo:
            return await repo.inbox_records(
                since=since, incident_id=incident_id, after_id=after_id, limit=limit
            )

    async def inbox_entry(self, entry_id: int) -> InboxEntry | None:
        async with self.db.read() as repo:
            return await repo.inbox.entry(entry_id)

    async def inbox_backlog(self) -> Backlog:
        """What is accepted but not yet applied."""
        async with self.db.read() as repo:
            return await repo.inbox.backlog()

    async def quarantined(self, limit: int = 100) -> list[InboxEntry]:
        async with self.db.read() as repo:
            return await repo.inbox.quarantined(limit)

    async def inbox_body(self, entry_id: int) -> str | None:
        async with self.db.read() as repo:
            return await repo.inbox.body(entry_id)

    async def quarantined_count(self) -> int:
        async with self.db.read() as repo:
            return await repo.inbox.count_quarantined()

    async def incident_status(self, incident_id: int) -> IncidentStatus:
        async with self.db.read() as repo:
            incident = await repo.get_incident(incident_id)
        if incident is None:
            raise IncidentNotFound(f"no incident with id {incident_id}")
        return incident.status

    async def prune_inbox(self, older_than: datetime) -> int:
        async def job(repo: Repository) -> int:
            return await repo.prune_inbox(older_than)

        return await self.db.run_write(job)


async def _detail(repo: Repository, incident_id: int) -> IncidentDetail:
    incident = await repo.get_incident(incident_id)
    if incident is None:
        raise IncidentNotFound(f"no incident with id {incident_id}")
    return IncidentDetail(
        incident=incident,
        episodes=await repo.episodes_of(incident_id),
        timeline=await repo.timeline_of(incident_id),
        drafts=await repo.draft_revisions(incident_id),
        fields=await repo.human_fields_of(incident_id),
    )
