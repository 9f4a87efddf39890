"""Recording a change: every write use case loads, decides through the domain, and stores
the result here, once — its rows, the raw input, its draft and its chat messages in one
unit of work; then the draft file and the workers' wake-ups after the commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from receiver.config import Settings
from receiver.domain.drafting import draft_wanted
from receiver.domain.incident import Change, IncidentStatus
from receiver.evidence.collect import evidence_wanted
from receiver.metrics import Metrics
from receiver.store import Repository, StoredDraft
from receiver.usecases.batch_drafts import (
    BatchDraft,
    DraftsLater,
    as_drafted,
    new_revision_of,
    undo_mark,
)
from receiver.usecases.drafts import Drafts
from receiver.usecases.messages import queue_messages
from receiver.usecases.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

# load, then change through the domain: a use case's part of the transaction
Step = Callable[[Repository, datetime], Awaitable[Change]]
Wakeup = Callable[[], None]


@dataclass(frozen=True, slots=True)
class IngestResult:
    incident_id: int
    created: bool
    changed: bool
    status: IncidentStatus
    priority: str
    recovered: bool
    draft_revision: int | None
    duration: timedelta | None = None  # first alert to recovery, when it recovered
    acknowledged_after: timedelta | None = None  # first alert to its first acknowledgement


@dataclass(frozen=True, slots=True)
class Stored:
    """A change stored in a transaction not yet committed; `finish` it after the commit."""

    change: Change
    incident_id: int
    draft: StoredDraft | None
    queued: int
    draft_waits: bool = False  # its draft is written at the end of its batch (DraftsLater)


class Recorder:
    def __init__(
        self,
        uow: UnitOfWork,
        settings: Settings,
        drafts: Drafts,
        metrics: Metrics,
        *,
        messages_queued: Wakeup | None = None,
        evidence_wanted: Wakeup | None = None,
    ) -> None:
        self.uow = uow
        self.settings = settings
        self.drafts = drafts
        self.metrics = metrics
        self.messages_queued = messages_queued  # the outbox sender's wake-up
        self.evidence_wanted = evidence_wanted  # the evidence worker's wake-up

    async def record(
        self,
        what: str,
        step: Step,
        inbox: tuple[str, str] | None = None,
        *,
        notify: bool = True,
    ) -> IngestResult:
        """Run `step` and store its change in one transaction, with the raw input when
        given (kind, body) and the chat messages it causes (`notify`); then export the
        draft it wrote."""

        async def job(repo: Repository, now: datetime) -> Stored:
            change = await step(repo, now)
            return await self.store(repo, change, now, inbox, notify=notify)

        return await self.finish(what, await self.uow.write(what, job))

    async def finish(self, what: str, stored: Stored) -> IngestResult:
        """After the commit: wake the workers it gave work, log, count, export the draft."""
        if stored.queued and self.messages_queued is not None:
            self.messages_queued()
        if stored.change.recovered and self.evidence_wanted is not None:
            self.evidence_wanted()
        result = _result(stored)
        structlog.contextvars.bind_contextvars(incident_id=result.incident_id)
        if stored.change.touched:
            log.info(
                f"{what}.applied",
                created=stored.change.created,
                status=result.status.value,
                new_alerts=len(stored.change.new_episodes),
                timeline_rows=len(stored.change.new_entries),
                draft_revision=result.draft_revision,
            )
        self._count(result)
        if stored.draft is not None:
            await self.drafts.export_after_commit([stored.draft])
        return result

    async def store(
        self,
        repo: Repository,
        change: Change,
        now: datetime,
        inbox: tuple[str, str] | None = None,
        *,
        notify: bool = True,
        later: DraftsLater | None = None,
    ) -> Stored:
        """The change's rows, its draft and messages, in the caller's transaction; the raw
        input too when given (kind, body). With `later` (a batch of the inbox) the draft,
        and the messages that follow it, wait for `write_waiting` at the batch's end."""
        incident_id = await _save_rows(repo, change, now)
        if inbox is not None:
            await repo.record_inbox(inbox[0], inbox[1], now, incident_id)
        if change.recovered and evidence_wanted(self.settings):
            # fetched after commit (Prometheus may be slow); the draft says it is coming
            await repo.evidence.want(incident_id, now)
        wanted = draft_wanted(change)
        if later is not None and (wanted or later.holds(incident_id)):
            notifies = notify and bool(self.settings.notify.channels)
            later.wait(incident_id, change, now, notify=notifies)
            await repo.update_incident(change.state.incident)
            return Stored(change, incident_id, None, 0, draft_waits=wanted)
        draft = await self.drafts.write(repo, change, now) if wanted else None
        if not change.created or draft is not None:
            # once per change, after the draft moved its status; a repeat still moves
            # last_delivery_at
            await repo.update_incident(change.state.incident)
        queued = 0
        if notify and self.settings.notify.channels:
            new_draft = draft.revision if draft and draft.created_at == now else None
            queued = await queue_messages(repo, self.settings, change, now, new_draft)
        return Stored(change, incident_id, draft, queued)

    async def write_waiting(self, repo: Repository, later: DraftsLater) -> list[BatchDraft]:
        """The drafts a batch's changes wait for, once per incident, and then their
        messages; in the batch's transaction."""
        written = []
        for incident_id, waiting in later.take():
            draft = None
            if waiting.first_wanting is not None:
                draft = await self.drafts.write(repo, as_drafted(waiting), waiting.at)
                if draft is None and undo_mark(waiting):
                    await repo.update_incident(waiting.latest.state.incident)
            queued = 0
            for change, at, notify in waiting.messages:
                if notify:
                    announced = new_revision_of(waiting, change, draft)
                    queued += await queue_messages(repo, self.settings, change, at, announced)
            written.append(BatchDraft(incident_id, draft, queued))
            await asyncio.sleep(0)  # a render is long: let requests be read meanwhile
        return written

    async def finish_waiting(self, written: list[BatchDraft]) -> None:
        """After the batch's commit: wake the outbox sender, export the drafts."""
        if any(batch.queued for batch in written) and self.messages_queued is not None:
            self.messages_queued()
        await self.drafts.export_after_commit(
            [batch.draft for batch in written if batch.draft is not None]
        )

    def _count(self, result: IngestResult) -> None:
        severity = result.priority
        if result.created:
            self.metrics.incidents_opened.labels(severity=severity).inc()
        if result.recovered:
            self.metrics.incidents_recovered.labels(severity=severity).inc()
            if result.duration is not None:
                self.metrics.incident_duration.labels(severity=severity).observe(
                    result.duration.total_seconds()
                )
        if result.acknowledged_after is not None:
            self.metrics.time_to_acknowledge.labels(severity=severity).observe(
                max(0.0, result.acknowledged_after.total_seconds())
            )


def _result(stored: Stored) -> IngestResult:
    change = stored.change
    incident = change.state.incident
    return IngestResult(
        incident_id=stored.incident_id,
        created=change.created,
        changed=change.touched,
        status=incident.status,
        priority=incident.priority,
        recovered=change.recovered,
        draft_revision=stored.draft.revision if stored.draft else None,
        duration=(incident.ended_at - incident.started_at)
        if change.recovered and incident.ended_at
        else None,
        acknowledged_after=(change.first_ack_at - incident.started_at)
        if change.first_ack_at
        else None,
    )


async def _save_rows(repo: Repository, change: Change, now: datetime) -> int:
    """The change's rows. A new incident is inserted first, as its rows need its id; an
    existing incident's own row is written after its draft, which may move its status."""
    incident = change.state.incident
    if change.created:
        incident_id = await repo.insert_incident(incident)
    else:
        assert incident.id is not None
        incident_id = incident.id
    await repo.insert_episodes(incident_id, change.new_episodes)
    await repo.update_episodes(incident_id, change.changed_episodes)
    await repo.insert_entries(incident_id, change.new_entries, now)
    return incident_id
