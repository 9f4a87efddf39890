"""Reading incidents, drafts, the KPIs and the inbox; and pruning the inbox."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from receiver.config import Settings
from receiver.domain.action_kpi import ActionFigures, ItemRecord, action_figures
from receiver.domain.changes import ServiceChange
from receiver.domain.ending import MetricEvidence, known_end
from receiver.domain.incident import Episode, Incident, IncidentStatus, TimelineEntry
from receiver.domain.kpi import (
    ChangeFailure,
    KpiIncident,
    KpiReport,
    Targets,
    change_failures,
    kpi_report,
    months_until,
)
from receiver.domain.moments import in_zone
from receiver.domain.periods import quarter_bounds
from receiver.domain.recurrence import Similar
from receiver.domain.review import HumanFields
from receiver.domain.slo_kpi import BudgetMonth, DetectMonth, budget_by_month, detect_by_month
from receiver.evidence.recovery import metric_evidence
from receiver.store import (
    AuditRecord,
    Backlog,
    Database,
    InboxEntry,
    InboxRecord,
    Repository,
    StoredDraft,
)
from receiver.store.action_items import ItemFilter
from receiver.store.policy import StoredVerdict
from receiver.usecases.errors import DraftNotReady, IncidentNotFound
from receiver.usecases.recurrence import similar_of
from receiver.usecases.unit_of_work import Clock

ZERO = timedelta(0)


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
    # Prometheus' evidence as the end needs it (None without a usable record)
    metric_evidence: MetricEvidence | None = None
    # the similar past incidents and the items they left open (issue 21)
    similar: Similar = field(default_factory=Similar)
    similar_titles: dict[int, str] = field(default_factory=dict)
    # the postmortem policy's verdict (None: the service has no SLOs)
    verdict: StoredVerdict | None = None


@dataclass(frozen=True, slots=True)
class KpiFigures:
    """The KPI page: the report, and every service there is to filter by."""

    report: KpiReport
    services: list[str]
    # per service: deploys and config changes in the months, and how many an incident followed
    change_failures: tuple[ChangeFailure, ...] = ()
    change_window: timedelta = ZERO  # how soon after a change an incident counts
    # action item figures (issue 21): all services, then each
    actions: tuple[ActionFigures, ...] = ()
    # the SLOs' budget burned per service and month, and the time-to-detect trend
    budget: list[BudgetMonth] = field(default_factory=list)
    detect: list[DetectMonth] = field(default_factory=list)


class Queries:
    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    async def list_incidents(
        self,
        *,
        limit: int,
        offset: int,
        status: IncidentStatus | None = None,
        service: str | None = None,
        priority: str | None = None,
        since: datetime | None = None,
        postmortem: str | None = None,
    ) -> tuple[list[Incident], int]:
        """Newest first; `since`: only incidents started then or later; `postmortem`: by
        the postmortem policy's verdict (receiver.store.policy.FILTERS)."""
        async with self.db.read() as repo:
            return await repo.list_incidents(
                limit=limit,
                offset=offset,
                status=status,
                service=service,
                priority=priority,
                since=since,
                postmortem=postmortem,
            )

    async def incident_detail(self, incident_id: int) -> IncidentDetail:
        async with self.db.read() as repo:
            return await _detail(repo, incident_id)

    async def incident_page(self, incident_id: int) -> IncidentPage:
        async with self.db.read() as repo:
            detail = await _detail(repo, incident_id)
            found = await similar_of(repo, detail.incident)
            return IncidentPage(
                incident_id=incident_id,
                detail=detail,
                fields=detail.fields,
                audit=await repo.audit_of(incident_id),
                metric_evidence=metric_evidence(
                    await repo.evidence.of(incident_id), detail.episodes
                ),
                similar=found,
                similar_titles=await repo.recurrence.titles([m.past.id for m in found.linked]),
                verdict=await repo.policy.of(incident_id),
            )

    async def kpi(
        self, *, months: int, until: tuple[int, int] | None, service: str | None
    ) -> KpiFigures:
        """The KPIs of `months` calendar months up to `until` (year, month; default this
        month), in the team's zone; of one service, or of all."""
        settings = self.settings
        zone = settings.zone
        today = in_zone(self.clock(), zone)
        year, month = until or (today.year, today.month)
        periods = months_until(year, month, months, zone)
        async with self.db.read() as repo:
            # P0/P1 are counted per whole quarter: read the quarters' incidents
            quarters_start, _ = quarter_bounds(periods[0].start, zone)
            _, quarters_end = quarter_bounds(periods[-1].start, zone)
            found = await repo.kpi.incidents(quarters_start, quarters_end, service)
            found = [await _with_evidence(repo, item) for item in found]
            services = await repo.kpi.services()
            shipped = [
                change
                for change in await repo.changes.between(periods[0].start, periods[-1].end)
                if (service is None or change.service == service)
                and change.started_at < periods[-1].end
            ]
            # the items of the incidents that started in the months shown
            shown = tuple(
                item.incident.id
                for item in found
                if item.incident.id is not None
                and periods[0].start <= item.incident.started_at < periods[-1].end
            )
            items = await repo.actions.find(ItemFilter(incident_ids=shown), limit=100_000)
            slo_figures = await repo.slo_kpi.figures(periods[0].start, periods[-1].end, service)
        targets = Targets(
            mttr=settings.target_mttr,
            mtbf=settings.target_mtbf,
            incidents_per_month=settings.target_incidents_per_month,
            severe_per_quarter=settings.target_severe_per_quarter,
        )
        failures = change_failures(
            shipped,
            ((item.incident.service, item.incident.started_at) for item in found),
            settings.change_window,
        )
        records = [
            ItemRecord(r.service, r.item.status, r.item.due, r.created_at, r.done_at) for r in items
        ]
        return KpiFigures(
            kpi_report(found, periods, zone, targets, today.date()),
            services,
            change_failures=failures,
            change_window=settings.change_window,
            actions=action_figures(records, today.date(), zone),
            budget=budget_by_month(slo_figures, periods),
            detect=detect_by_month(slo_figures, periods),
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
            raise DraftNotReady(f"incident {incident_id} has no draft yet (still firing?)")
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
            records = await repo.inbox_records(
                since=since, incident_id=incident_id, after_id=after_id, limit=limit
            )
        if records or incident_id is not None:
            return records
        # the table read to its end: on SQLite, what the spool alone holds comes next (an
        # entry there belongs to no incident yet)
        return await self.db.spooled_records(since=since, after_id=after_id, limit=limit)

    async def recent_changes(
        self, *, service: str | None, since: datetime | None, limit: int
    ) -> list[ServiceChange]:
        """Changes to services, newest first (issue 20)."""
        async with self.db.read() as repo:
            return await repo.changes.recent(service, since, limit)

    async def inbox_entry(self, entry_id: int) -> InboxEntry | None:
        return await self.db.inbox_entry(entry_id)

    async def inbox_backlog(self) -> Backlog:
        """What is accepted but not yet applied."""
        return await self.db.inbox_backlog()

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


async def _with_evidence(repo: Repository, item: KpiIncident) -> KpiIncident:
    """The incident with Prometheus' evidence when the end the draft states may come from
    it (reconciliation found the alerts gone): the same end as the draft's. Few are."""
    _, source = known_end(item.incident, item.entries, item.has_alerts)
    if source.kind not in ("reconcile", "reported") or item.incident.id is None:
        return item
    incident_id = item.incident.id
    evidence = metric_evidence(
        await repo.evidence.of(incident_id), await repo.episodes_of(incident_id)
    )
    return item if evidence is None else replace(item, evidence=evidence)


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
