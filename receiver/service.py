"""Use cases: load -> apply the domain change -> store, in one transaction per request."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import jinja2
import structlog

from receiver.alertmanager.silences import Silence
from receiver.alertmanager.webhook import Webhook
from receiver.config import Settings
from receiver.drafts import draft_file_name, write_atomically
from receiver.events import EventType, ManualEvent, apply_event, open_manual_incident
from receiver.evidence.collect import collect, evidence_wanted, next_attempt
from receiver.evidence.record import EvidenceRecord
from receiver.evidence.view import chart_file, evidence_view
from receiver.incidents import (
    Change,
    Episode,
    Incident,
    IncidentState,
    IncidentStatus,
    Rules,
    TimelineEntry,
    apply_webhook,
    can_reopen,
    incident_key,
    mark_drafted,
    mark_stale,
    open_incident,
    reconcile,
)
from receiver.metrics import Metrics
from receiver.notify.compose import compose
from receiver.notify.events import events_of
from receiver.notify.routing import channels_for, route_labels
from receiver.periods import month_bounds, quarter_bounds
from receiver.postmortem.render import DraftRenderer
from receiver.postmortem.view import DraftInput, RenderOptions
from receiver.review import HumanFields, check_editable, move
from receiver.silences import acknowledge_from_silences
from receiver.store import (
    AuditRecord,
    Database,
    InboxRecord,
    Repository,
    StoredDraft,
    StoreUnavailable,
    WriteConflict,
)
from receiver.store.outbox import NewMessage

log = structlog.get_logger(__name__)

# Two replicas racing to open or reopen the same key: the loser's transaction hits a
# unique constraint, and its retry finds the winner's incident.
_CONFLICT_RETRIES = 5
# how long a replica may take to fetch an incident's evidence before another may try
_EVIDENCE_LEASE = timedelta(minutes=5)


def utcnow() -> datetime:
    return datetime.now(UTC)


class IncidentNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class AlertmanagerView:
    """What one Alertmanager said at `asked_at`: its silences, and the fingerprints of the
    alerts it holds (None while it is too freshly started to know them all)."""

    silences: list[Silence]
    present: set[str] | None
    asked_at: datetime


class EvidenceNotReady(Exception):
    """Evidence was asked for an incident that has not recovered yet."""


class NoOpenIncident(IncidentNotFound):
    """An event names a service with no open (or recent) incident."""


Step = Callable[[Repository, datetime], Awaitable[Change]]


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
class IncidentDetail:
    incident: Incident
    episodes: list[Episode]
    timeline: list[TimelineEntry]
    drafts: list[StoredDraft]


def rules_from(settings: Settings) -> Rules:
    return Rules(
        severity_map=settings.severity_map,
        default_priority=settings.default_priority,
        reopen_window=settings.reopen_window,
        key_labels=tuple(settings.incident_key_labels),
    )


class _ExportMarks:
    """Draft files written, to be marked so in the database. Marked together: the drafts
    written while one transaction marks some share the next one, so under load one write
    marks many drafts instead of each draft costing a transaction of its own. `mark`
    returns once its draft's mark is committed, or raises the store's error."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.waiting: list[tuple[StoredDraft, asyncio.Future[None]]] = []
        self.task: asyncio.Task[None] | None = None

    async def mark(self, draft: StoredDraft) -> None:
        await self._queue(draft)

    def mark_soon(self, draft: StoredDraft) -> None:
        """Mark without waiting: a mark lost (a crash, the store down) only means the
        periodic pass writes the same file again."""
        self._queue(draft).add_done_callback(_log_mark_failure)

    async def drain(self) -> None:
        """Let the marks under way commit (before the store closes)."""
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)

    def _queue(self, draft: StoredDraft) -> asyncio.Future[None]:
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((draft, committed))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._flush(), name="mark-drafts-exported")
        return committed

    async def _flush(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, []
            try:
                await self.db.run_write(_marking([draft for draft, _ in batch]))
            except Exception as exc:
                for _, committed in batch:
                    if not committed.done():
                        committed.set_exception(exc)
            else:
                for _, committed in batch:
                    if not committed.done():
                        committed.set_result(None)


def _log_mark_failure(committed: asyncio.Future[None]) -> None:
    if not committed.cancelled() and committed.exception() is not None:
        log.warning("draft.export_mark_failed", error=str(committed.exception()))


def _marking(written: list[StoredDraft]) -> Callable[[Repository], Awaitable[None]]:
    async def job(repo: Repository) -> None:
        await repo.mark_exported(written)

    return job


class IncidentService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        renderer: DraftRenderer,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.metrics = metrics or Metrics()
        self.settings = settings
        self.renderer = renderer
        self.clock = clock
        self.rules = rules_from(settings)
        self.render_options = RenderOptions(
            language=settings.language,
            zone=settings.zone,
            rules=self.rules,
            public_url=settings.public_url,
            large_after=settings.large_incident_rows,
        )
        self._export_marks = _ExportMarks(db)
        # answers need not wait for "draft file written" to be stored; only an owner that
        # calls close() before closing the store (the app) turns this on
        self.defer_export_marks = False
        # the outbox sender's wake-up, called after a commit that queued messages
        self.on_messages_queued: Callable[[], None] | None = None
        # the evidence worker's wake-up, called after an incident recovered
        self.on_evidence_wanted: Callable[[], None] | None = None

    # -- the one way every change is stored -------------------------------------------

    async def _apply(
        self,
        what: str,
        step: Step,
        inbox: tuple[str, str] | None = None,
        *,
        notify: bool = True,
    ) -> IngestResult:
        """Run `step` (load, then change through the domain) and store its change in one
        transaction, with the raw input when given and the chat messages it causes
        (`notify`); retry the whole of it when another writer won a race; then export the
        draft it wrote."""
        for attempt in range(1, _CONFLICT_RETRIES + 1):
            try:
                result, draft = await self._apply_once(what, step, inbox, notify)
                break
            except WriteConflict as exc:
                log.info("store.conflict_retry", what=what, attempt=attempt, error=str(exc))
                if attempt == _CONFLICT_RETRIES:
                    raise StoreUnavailable("concurrent writers kept conflicting") from exc
        self._count(result)
        if draft is not None:
            # the answer waits for the file, not for the mark that says it was written
            await self.export_draft(draft, wait_for_mark=not self.defer_export_marks)
        return result

    async def _apply_once(
        self, what: str, step: Step, inbox: tuple[str, str] | None, notify: bool
    ) -> tuple[IngestResult, StoredDraft | None]:
        now = self.clock()

        async def job(repo: Repository) -> tuple[Change, int, StoredDraft | None, int]:
            change = await step(repo, now)
            incident_id = await _save(repo, change, now)
            if inbox is not None:
                await repo.record_inbox(inbox[0], inbox[1], now, incident_id)
            if change.recovered and evidence_wanted(self.settings):
                # fetched after commit (Prometheus may be slow); the draft says it is coming
                await repo.evidence.want(incident_id, now)
            incident = change.state.incident
            new_revision = change.recovered or change.revision_by is not None
            draft = None
            if (
                new_revision
                or change.refresh_draft
                or (
                    change.touched
                    and not incident.is_open
                    and incident.status is not IncidentStatus.APPROVED
                )
            ):
                draft = await self._render_draft(
                    repo, change, now, new_revision, by=change.revision_by
                )
            if not change.created or draft is not None:
                # once per change, after the draft moved its status; a repeat still moves
                # last_delivery_at
                await repo.update_incident(incident)
            queued = 0
            if notify and self.settings.notify.channels:
                new_draft = draft.revision if draft and draft.created_at == now else None
                queued = await self._queue_messages(repo, change, now, new_draft)
            return change, incident_id, draft, queued

        change, incident_id, draft, queued = await self.db.run_write(job)
        if queued and self.on_messages_queued is not None:
            self.on_messages_queued()
        if change.recovered and self.on_evidence_wanted is not None:
            self.on_evidence_wanted()
        structlog.contextvars.bind_contextvars(incident_id=incident_id)
        incident = change.state.incident
        result = IngestResult(
            incident_id=incident_id,
            created=change.created,
            changed=change.touched,
            status=incident.status,
            priority=incident.priority,
            recovered=change.recovered,
            draft_revision=draft.revision if draft else None,
            duration=(incident.ended_at - incident.started_at)
            if change.recovered and incident.ended_at
            else None,
            acknowledged_after=(change.first_ack_at - incident.started_at)
            if change.first_ack_at
            else None,
        )
        if change.touched:
            log.info(
                f"{what}.applied",
                created=change.created,
                status=incident.status.value,
                new_alerts=len(change.new_episodes),
                timeline_rows=len(change.new_entries),
                draft_revision=result.draft_revision,
            )
        return result, draft

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

    # -- Alertmanager webhooks ------------------------------------------------------

    async def ingest_webhook(
        self, hook: Webhook, raw_body: str, *, keep_body: bool = True, kind: str = "alertmanager"
    ) -> IngestResult:
        """Store the webhook and its effects in one transaction; then export the draft.

        `keep_body=False` (a replay of the inbox) applies without storing the body again;
        `kind` says whose body it is ("alertmanager" or "grafana"), for the replay.
        """

        async def step(repo: Repository, now: datetime) -> Change:
            key = incident_key(hook, self.rules.key_labels)
            change, own_hook = await self._webhook_target(repo, hook, key, now)
            return apply_webhook(change, own_hook, now, self.rules)

        return await self._apply(
            "webhook", step, (kind, raw_body) if keep_body else None, notify=keep_body
        )

    async def _webhook_target(
        self, repo: Repository, hook: Webhook, key: str, now: datetime
    ) -> tuple[Change, Webhook]:
        """The incident this webhook belongs to, in the model's order of precedence:
        the one holding its episodes, the open one of its key, the open one firing any
        of its series, a recent one of its key to reopen; else a new one. With it, the
        webhook less the alerts other incidents already hold (a regrouping in
        Alertmanager can merge two groups; each episode stays where it is)."""
        match = await repo.series_matches([(a.fingerprint, a.starts_at) for a in hook.alerts])
        found = match.exact
        if found is None:
            # the newest incident of the key is the open one, when there is one
            latest = await repo.latest_incident_by_key(key)
            if latest is not None and latest.is_open:
                found = latest.id
            elif match.open_firing is not None:
                found = match.open_firing
            elif latest is not None and can_reopen(latest, hook, now, self.rules):
                found = latest.id
        foreign = {k for k, holder in match.holders.items() if holder != found}
        if foreign:
            kept = [a for a in hook.alerts if (a.fingerprint, a.starts_at) not in foreign]
            hook = hook.model_copy(update={"alerts": kept})
        if found is None:
            return open_incident(hook, key, now, self.rules), hook
        return Change(state=await repo.load_state(found)), hook

    # -- manual events ----------------------------------------------------------------

    async def record_event(
        self, event: ManualEvent, raw_body: str, *, keep_body: bool = True
    ) -> IngestResult:
        """A person's event: a row in its phase of the incident the event names (by id, or
        the open or recent incident of its service); `system-alert` may open one."""

        async def step(repo: Repository, now: datetime) -> Change:
            # without a key the event is itself at its receipt time: replaying the inbox
            # finds the same key, a later identical post does not
            digest = hashlib.sha256(f"{now.isoformat()}\x00{raw_body}".encode()).hexdigest()
            dedup_key = f"event:{event.idempotency_key or digest[:32]}"
            change = await self._event_target(repo, event, now)
            return apply_event(change, event, dedup_key, now)

        # a replay re-applies old input: its messages went out the first time
        return await self._apply(
            "event", step, ("event", raw_body) if keep_body else None, notify=keep_body
        )

    async def _event_target(self, repo: Repository, event: ManualEvent, now: datetime) -> Change:
        if event.incident_id is not None:
            return Change(state=await self._load(repo, event.incident_id))
        found = await repo.open_incident_by_service(event.service)
        if found is None and event.type is not EventType.SYSTEM_ALERT:
            found = await repo.recent_incident_by_service(
                event.service, since=now - self.settings.event_window
            )
        if found is not None:
            return Change(state=await repo.load_state(found))
        if event.type is EventType.SYSTEM_ALERT:
            return open_manual_incident(event, now, self.rules)
        raise NoOpenIncident(
            f"no open incident for service {event.service!r}: open one with system-alert, "
            "or name the incident (--incident ID / incident_id)"
        )

    async def _load(self, repo: Repository, incident_id: int) -> IncidentState:
        try:
            return await repo.load_state(incident_id)
        except LookupError as exc:
            raise IncidentNotFound(f"no incident with id {incident_id}") from exc

    # -- what Alertmanager says now (silences, alerts), for open incidents -------------

    async def unapproved_counts(self) -> dict[tuple[str, str], int]:
        """(severity, status) → number of incidents not yet approved."""
        async with self.db.read() as repo:
            return await repo.unapproved_counts()

    async def open_incidents(self) -> list[Incident]:
        async with self.db.read() as repo:
            return await repo.open_incidents()

    async def apply_alertmanager_view(
        self, incident_id: int, view: AlertmanagerView
    ) -> IngestResult:
        """Acknowledge from matching silences; when Alertmanager's list of alerts can be
        trusted, resolve the incident's alerts that are gone from it."""

        async def step(repo: Repository, now: datetime) -> Change:
            change = Change(state=await self._load(repo, incident_id))
            acknowledge_from_silences(change, view.silences)
            if view.present is not None:
                reconcile(change, view.present, view.asked_at, now)
            return change

        return await self._apply("reconcile", step)

    async def mark_stale_if_silent(self, incident_id: int) -> IngestResult:
        """Alertmanager cannot be asked: an incident unheard of for too long becomes stale."""
        stale_after = self.settings.stale_after

        async def step(repo: Repository, now: datetime) -> Change:
            change = Change(state=await self._load(repo, incident_id))
            last = change.state.incident.last_delivery_at or change.state.incident.updated_at
            if now - last >= stale_after:
                mark_stale(change, now, now - last)
            return change

        return await self._apply("stale", step)

    # -- review: what people write, and the lifecycle ---------------------------------

    async def update_human_fields(
        self, incident_id: int, patch: dict[str, object], actor: str
    ) -> IngestResult:
        """Merge a person's fields into the incident's and write a new draft revision."""

        async def step(repo: Repository, now: datetime) -> Change:
            state = await self._load(repo, incident_id)
            check_editable(state.incident)
            before = await repo.human_fields_of(incident_id)
            after = before.merged(patch)  # raises ValidationError on bad input
            changed = before.changed_fields(after)
            change = Change(state=state)
            if changed:
                await repo.save_human_fields(incident_id, after, actor, now)
                await repo.record_audit(incident_id, actor, "edit", {"fields": changed}, now)
                state.incident.updated_at = now
                change.revision_by = actor
            return change

        return await self._apply("edit", step)

    async def change_status(
        self, incident_id: int, target: IncidentStatus, actor: str
    ) -> IngestResult:
        """drafted → in_review → approved, and back to in_review; approval records who."""

        async def step(repo: Repository, now: datetime) -> Change:
            state = await self._load(repo, incident_id)
            incident = state.incident
            before = incident.status
            move(incident, target, now)
            if target is IncidentStatus.APPROVED:
                incident.approved_by, incident.approved_at = actor, now
            await repo.record_audit(
                incident_id, actor, "status", {"from": before.value, "to": target.value}, now
            )
            return Change(state=state, refresh_draft=True)

        return await self._apply("status", step)

    async def human_fields(self, incident_id: int) -> HumanFields:
        async with self.db.read() as repo:
            if await repo.get_incident(incident_id) is None:
                raise IncidentNotFound(f"no incident with id {incident_id}")
            return await repo.human_fields_of(incident_id)

    async def audit_log(self, incident_id: int) -> list[AuditRecord]:
        async with self.db.read() as repo:
            return await repo.audit_of(incident_id)

    async def inbox(
        self, *, since: datetime | None, incident_id: int | None, after_id: int, limit: int
    ) -> list[InboxRecord]:
        async with self.db.read() as repo:
            return await repo.inbox_records(
                since=since, incident_id=incident_id, after_id=after_id, limit=limit
            )

    async def prune_inbox(self, older_than: datetime) -> int:
        async def job(repo: Repository) -> int:
            return await repo.prune_inbox(older_than)

        return await self.db.run_write(job)

    async def incident_ids_with_drafts(self) -> list[int]:
        async with self.db.read() as repo:
            return await repo.incident_ids_with_drafts()

    async def draft_at(self, incident_id: int, revision: int) -> StoredDraft:
        async with self.db.read() as repo:
            draft = await repo.draft_revision(incident_id, revision)
        if draft is None:
            raise IncidentNotFound(f"incident {incident_id} has no draft revision {revision}")
        return draft

    # -- chat messages ----------------------------------------------------------------

    async def _queue_messages(
        self, repo: Repository, change: Change, now: datetime, new_draft_revision: int | None
    ) -> int:
        """Write the change's messages to the outbox, in its transaction; how many."""
        incident = change.state.incident
        assert incident.id is not None
        labels = route_labels(incident)
        queued: list[NewMessage] = []
        for event in events_of(change, now, new_draft_revision):
            channels = channels_for(self.settings.notify, labels, event)
            if not channels:
                continue
            message = compose(
                event,
                incident,
                language=self.settings.language,
                zone=self.settings.timezone,
                public_url=self.settings.public_url,
                acknowledged_by=await repo.first_acknowledger(incident.id),
            ).to_json()
            queued.extend(NewMessage(incident.id, name, event.value, message) for name in channels)
        await repo.outbox.enqueue(queued, now)
        return len(queued)

    # -- evidence from Prometheus -------------------------------------------------------

    async def evidence_due(self, limit: int = 20) -> list[int]:
        async with self.db.read() as repo:
            return await repo.evidence.due(self.clock(), limit)

    async def claim_evidence(self, incident_id: int) -> bool:
        """Take a due fetch for this replica for a while (it ends by saving a record)."""
        now = self.clock()

        async def job(repo: Repository) -> bool:
            return await repo.evidence.claim(incident_id, now, now + _EVIDENCE_LEASE)

        return await self.db.run_write(job)

    async def gather_evidence(
        self, incident_id: int, session: aiohttp.ClientSession, *, force: bool = False
    ) -> IngestResult:
        """Ask Prometheus for the incident's evidence and store it with a draft showing it.

        The first fetch freezes it into the current draft revision; a later one (after a
        failure, or `force`d from the review page) writes a new revision. Prometheus'
        failures become visible reasons in the draft and a retry later.
        """
        async with self.db.read() as repo:
            incident = await repo.get_incident(incident_id)
            if incident is None:
                raise IncidentNotFound(f"no incident with id {incident_id}")
            stored = await repo.evidence.of(incident_id)
            episodes = await repo.episodes_of(incident_id)
        if incident.is_open:
            raise EvidenceNotReady("the incident is still firing: evidence comes at recovery")
        attempts = stored.attempts if stored else 0
        record = await collect(session, self.settings, incident, episodes, self.clock())

        async def step(repo: Repository, now: datetime) -> Change:
            state = await self._load(repo, incident_id)
            if force:
                check_editable(state.incident)  # an approved postmortem stays as approved
            await repo.evidence.want(incident_id, now)
            await repo.evidence.save(
                incident_id, record, attempts + 1, now + next_attempt(attempts), now
            )
            change = Change(state=state)
            if force or attempts > 0:
                change.revision_by = "Prometheus"
                state.incident.updated_at = now
            else:
                change.refresh_draft = True
            return change

        result = await self._apply("evidence", step)
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
        draft = await self.current_draft(incident_id)
        for number, chart in enumerate(record.charts, 1):
            if chart.svg is None:
                continue
            name = chart_file(draft.file_name, number)
            try:
                await asyncio.to_thread(write_atomically, directory, name, chart.svg)
            except OSError as exc:
                log.warning("evidence.chart_export_failed", file=name, error=str(exc))

    async def chart_svg(self, incident_id: int, number: int) -> str:
        async with self.db.read() as repo:
            stored = await repo.evidence.of(incident_id)
        charts = stored.record.charts if stored and stored.record else []
        if not 1 <= number <= len(charts) or charts[number - 1].svg is None:
            raise IncidentNotFound(f"incident {incident_id} has no chart {number}")
        svg = charts[number - 1].svg
        assert svg is not None
        return svg

    # -- drafts ---------------------------------------------------------------------

    async def _render_draft(
        self,
        repo: Repository,
        change: Change,
        now: datetime,
        new_revision: bool,
        *,
        by: str | None = None,
    ) -> StoredDraft | None:
        """Render and store the draft: a new revision on recovery or a person's save,
        else refresh the last one. Never for an incident still firing."""
        incident = change.state.incident
        assert incident.id is not None
        if incident.is_open:
            return None
        zone = self.settings.zone
        context = await repo.draft_context(
            incident,
            month_bounds(incident.started_at, zone),
            quarter_bounds(incident.started_at, zone),
        )
        latest = context.latest
        if new_revision or latest is None:
            revision, created_at = (latest.revision + 1 if latest else 1), now
        else:
            revision, created_at = latest.revision, latest.created_at
        episodes = list(change.state.episodes.values())  # loaded already, all of them
        alertname = episodes[0].labels.get("alertname", "") if episodes else "manual"
        file_name = draft_file_name(
            incident.id, incident.started_at, zone, incident.service, alertname
        )
        evidence = (
            evidence_view(await repo.evidence.of(incident.id), file_name, zone)
            if evidence_wanted(self.settings)
            else None
        )
        data = DraftInput(
            incident=incident,
            episodes=episodes,
            timeline=await repo.timeline_of(incident.id),
            history=context.history,
            revision=revision,
            created_at=created_at,
            now=now,
            human=context.human,
            evidence=evidence,
        )
        started = time.perf_counter()
        try:
            markdown = self.renderer.render(data, self.render_options)
        except jinja2.TemplateError as exc:
            self.metrics.drafts_rendered.labels(result="failed").inc()
            # the webhook is stored either way; the incident stays `recovered`, visibly
            log.error("draft.render_failed", error=str(exc), template=self.render_options.language)
            return None
        self.metrics.draft_render_seconds.observe(time.perf_counter() - started)
        self.metrics.drafts_rendered.labels(result="stored").inc()
        draft = StoredDraft(
            incident_id=incident.id,
            revision=revision,
            language=self.settings.language,
            file_name=file_name,
            markdown=markdown,
            created_at=created_at,
            updated_at=now,
            created_by=by if new_revision else (latest.created_by if latest else None),
        )
        export = self.settings.drafts_dir is not None
        if latest is not None and latest.revision == revision:
            await repo.update_draft(draft, export=export)
        else:
            await repo.insert_draft(draft, export=export)
        mark_drafted(incident, now)  # stored with the rest of the incident by the caller
        return draft

    async def export_draft(self, draft: StoredDraft, *, wait_for_mark: bool = True) -> Path | None:
        """Copy a stored draft to the drafts directory; the database stays the source.

        A failure is logged and counted and the draft stays marked for export: the
        periodic pass (retry_exports) writes it once the directory takes files again.
        """
        directory = self.settings.drafts_dir
        if directory is None:
            return None
        try:
            path = await asyncio.to_thread(
                write_atomically, directory, draft.file_name, draft.markdown
            )
        except OSError as exc:
            self.metrics.draft_exports.labels(result="failed").inc()
            log.warning(
                "draft.export_failed",
                directory=str(directory),
                error=str(exc),
                revision=draft.revision,
            )
            return None

        if wait_for_mark:
            await self._export_marks.mark(draft)
        else:
            self._export_marks.mark_soon(draft)
        self.metrics.draft_exports.labels(result="written").inc()
        log.info("draft.written", path=str(path), revision=draft.revision)
        return path

    async def close(self) -> None:
        """Finish what runs after the answers (marking exported drafts)."""
        await self._export_marks.drain()

    async def retry_exports(self, limit: int = 100) -> int:
        """Write the draft files that are still missing; how many were written."""
        if self.settings.drafts_dir is None:
            return 0
        async with self.db.read() as repo:
            pending = await repo.pending_exports(limit)
        written = 0
        for draft in pending:
            if await self.export_draft(draft) is not None:
                written += 1
        return written

    # -- reading ----------------------------------------------------------------------

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
            incident = await repo.get_incident(incident_id)
            if incident is None:
                raise IncidentNotFound(f"no incident with id {incident_id}")
            return IncidentDetail(
                incident=incident,
                episodes=await repo.episodes_of(incident_id),
                timeline=await repo.timeline_of(incident_id),
                drafts=await repo.draft_revisions(incident_id),
            )

    async def current_draft(self, incident_id: int) -> StoredDraft:
        async with self.db.read() as repo:
            if await repo.get_incident(incident_id) is None:
                raise IncidentNotFound(f"no incident with id {incident_id}")
            draft = await repo.latest_draft(incident_id)
        if draft is None:
            raise IncidentNotFound(f"incident {incident_id} has no draft yet (still firing?)")
        return draft


async def _save(repo: Repository, change: Change, now: datetime) -> int:
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
