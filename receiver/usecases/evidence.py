"""Evidence from Prometheus for a recovered incident: fetched after the commit that
recovered it, stored with a draft showing it, retried while something is missing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import aiohttp
import structlog

from receiver.config import Settings
from receiver.domain.drafting import EVIDENCE_AUTHOR, evidence_stored
from receiver.domain.incident import Change
from receiver.domain.review import check_editable
from receiver.drafts import write_atomically
from receiver.evidence.collect import collect, next_attempt
from receiver.evidence.record import EvidenceRecord
from receiver.evidence.view import chart_file
from receiver.store import Repository
from receiver.usecases.errors import EvidenceNotReady, IncidentNotFound
from receiver.usecases.queries import Queries
from receiver.usecases.recording import IngestResult, Recorder
from receiver.usecases.unit_of_work import UnitOfWork, load
from receiver.usecases.verdict import settles

log = structlog.get_logger(__name__)

# how long a replica may take to fetch an incident's evidence before another may try
EVIDENCE_LEASE = timedelta(minutes=5)


class Evidence:
    def __init__(
        self, uow: UnitOfWork, recorder: Recorder, queries: Queries, settings: Settings
    ) -> None:
        self.uow = uow
        self.recorder = recorder
        self.queries = queries
        self.settings = settings

    async def due(self, limit: int = 20) -> list[int]:
        async with self.uow.db.read() as repo:
            return await repo.evidence.due(self.uow.clock(), limit)

    async def claim(self, incident_id: int) -> bool:
        """Take a due fetch for this replica for a while (it ends by saving a record)."""
        now = self.uow.clock()

        async def job(repo: Repository) -> bool:
            return await repo.evidence.claim(incident_id, now, now + EVIDENCE_LEASE)

        return await self.uow.db.run_write(job)

    async def gather(
        self, incident_id: int, session: aiohttp.ClientSession, *, force: bool = False
    ) -> IngestResult:
        """Ask Prometheus for the incident's evidence and store it with a draft showing it.

        The first fetch freezes it into the current draft revision; a later one (after a
        failure, or `force`d from the review page) writes a new revision. Prometheus'
        failures become visible reasons in the draft and a retry later.
        """
        async with self.uow.db.read() as repo:
            incident = await repo.get_incident(incident_id)
            if incident is None:
                raise IncidentNotFound(f"no incident with id {incident_id}")
            stored = await repo.evidence.of(incident_id)
            episodes = await repo.episodes_of(incident_id)
            previous_end = await repo.previous_end_of_service(incident)
        if incident.is_open:
            raise EvidenceNotReady("the incident is still firing: evidence comes at recovery")
        attempts = stored.attempts if stored else 0
        record = await collect(
            session, self.settings, incident, episodes, self.uow.clock(), not_before=previous_end
        )
        return await self.store(incident_id, record, attempts, force=force)

    async def store(
        self, incident_id: int, record: EvidenceRecord, attempts: int, *, force: bool = False
    ) -> IngestResult:
        """Keep a fetched record with a draft revision showing it (and its charts' files):
        the evidence may move the end the draft states, which always says so."""

        async def step(repo: Repository, now: datetime) -> Change:
            state = await load(repo, incident_id)
            if force:
                check_editable(state.incident)  # an approved postmortem stays as approved
            await repo.evidence.want(incident_id, now)
            await repo.evidence.save(
                incident_id, record, attempts + 1, now + next_attempt(attempts), now
            )
            change = evidence_stored(
                Change(state=state), now, forced=force, earlier_attempts=attempts
            )
            if change.revision_by is None and await settles(
                repo, self.settings, state.incident, record.slos
            ):
                # the SLI settled whether a postmortem is required: a revision of its own,
                # so its message tells people which trigger was met
                change.revise(EVIDENCE_AUTHOR, now)
            return change

        result = await self.recorder.record("evidence", step)
        log.info(
            "evidence.gathered",
            incident_id=incident_id,
            complete=record.complete,
            charts=len(record.charts),
            missing=[c.reason for c in record.charts if c.reason],
        )
        await self.export_charts(incident_id, record)
        return result

    async def export_charts(self, incident_id: int, record: EvidenceRecord) -> None:
        """Write the charts beside the draft file; the store keeps them either way."""
        directory = self.settings.drafts_dir
        if directory is None:
            return
        draft = await self.queries.current_draft(incident_id)
        for number, chart in enumerate(record.charts, 1):
            if chart.svg is None:
                continue
            name = chart_file(draft.file_name, number)
            try:
                await asyncio.to_thread(write_atomically, directory, name, chart.svg)
            except OSError as exc:
                log.warning("evidence.chart_export_failed", file=name, error=str(exc))

    async def chart_svg(self, incident_id: int, number: int) -> str:
        async with self.uow.db.read() as repo:
            stored = await repo.evidence.of(incident_id)
        charts = stored.record.charts if stored and stored.record else []
        if not 1 <= number <= len(charts) or charts[number - 1].svg is None:
            raise IncidentNotFound(f"incident {incident_id} has no chart {number}")
        svg = charts[number - 1].svg
        assert svg is not None
        return svg
