"""Drafts that follow changes: a change arriving after an incident's draft was written
re-renders it as a new revision (as fresh evidence does), when the change falls in the
incident's window and shares labels with its alerts; and people's verdicts on changes."""

from __future__ import annotations

from datetime import datetime

import structlog

from receiver.config import Settings
from receiver.domain.changes import ServiceChange
from receiver.domain.drafting import CHANGES_AUTHOR
from receiver.domain.incident import Change
from receiver.domain.moments import shifted
from receiver.domain.review import check_editable
from receiver.domain.suspects import (
    IncidentFacts,
    Suspect,
    Verdict,
    VerdictMark,
    rank,
    shared_labels,
)
from receiver.store import Repository
from receiver.usecases.errors import IncidentNotFound
from receiver.usecases.recording import IngestResult, Recorder, Stored
from receiver.usecases.unit_of_work import load

log = structlog.get_logger(__name__)


class ChangeDrafts:
    def __init__(self, recorder: Recorder, settings: Settings) -> None:
        self.recorder = recorder
        self.rules = settings.ranking_rules

    async def redraft(self, repo: Repository, change: ServiceChange, now: datetime) -> list[Stored]:
        """In the change's transaction: a new revision of each recovered, unapproved
        incident the change concerns. An incident still firing gets it at recovery."""
        written = []
        for incident_id in await repo.change_verdicts.incidents_around(
            change.started_at, self.rules.window
        ):
            state = await load(repo, incident_id)
            incident = state.incident
            labels = [e.labels for e in state.episodes.values()] or [incident.common_labels]
            facts = IncidentFacts(labels, incident.started_at, incident.ended_at or now)
            score, _ = shared_labels(change, facts, self.rules)
            if score == 0:
                continue
            revised = Change(state=state)
            revised.revise(CHANGES_AUTHOR, now)
            written.append(await self.recorder.store(repo, revised, now, notify=False))
        return written

    async def finish(self, written: list[Stored]) -> None:
        """After the commit: export the revisions written (log, count)."""
        for stored in written:
            await self.recorder.finish("change", stored)
            log.info("change.redrafted", incident_id=stored.incident_id)

    async def suspects_of(self, incident_id: int) -> list[Suspect]:
        """The incident's changes as its draft ranks them (for its page)."""
        now = self.recorder.uow.clock()
        async with self.recorder.uow.db.read() as repo:
            state = await load(repo, incident_id)
            incident = state.incident
            until = incident.ended_at or now
            since = shifted(incident.started_at, -self.rules.window)
            changes = await repo.changes.between(since, until)
            verdicts = await repo.change_verdicts.of(incident_id) if changes else []
        labels = [e.labels for e in state.episodes.values()] or [incident.common_labels]
        facts = IncidentFacts(labels, incident.started_at, until)
        return rank(changes, facts, self.rules, verdicts)

    async def recent(
        self, service: str | None, limit: int
    ) -> list[tuple[ServiceChange, list[int]]]:
        """The newest changes (of a service, or all), each with the incidents of its
        service that started within the window after it."""
        async with self.recorder.uow.db.read() as repo:
            found = await repo.changes.recent(service, None, limit)
            return [
                (
                    change,
                    await repo.change_verdicts.incidents_after(
                        change.service, change.started_at, self.rules.window
                    ),
                )
                for change in found
            ]

    async def mark(
        self, incident_id: int, change_id: int, verdict: Verdict | None, actor: str
    ) -> IngestResult:
        """A person says a change is the cause, or not related (None: takes it back); the
        draft follows in a new revision by them."""

        async def step(repo: Repository, now: datetime) -> Change:
            state = await load(repo, incident_id)
            check_editable(state.incident)  # an approved postmortem stays as approved
            if not await repo.change_verdicts.change_exists(change_id):
                raise IncidentNotFound(f"no change with id {change_id}")
            if verdict is None:
                await repo.change_verdicts.clear(incident_id, change_id)
            else:
                await repo.change_verdicts.mark(
                    incident_id, VerdictMark(change_id, verdict, actor, now)
                )
            change = Change(state=state)
            change.revise(actor, now)
            return change

        return await self.recorder.record("change_verdict", step, notify=False)
