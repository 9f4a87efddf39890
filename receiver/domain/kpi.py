"""The team's KPIs over time (the template's KPI section, per service and month): MTTR
against its target, MTTA, MTBF, counts, P0/P1 per quarter, the review's progress and
overdue action items. Pure: incidents in, figures out; the caller passes today and zone.

Ends are the drafts' (receiver.domain.ending.known_end): an end that is not an
Alertmanager endsAt is an estimate, and every average says how many of its durations
end at one, so a page never mixes them silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from receiver.domain.changes import ChangeType, ServiceChange
from receiver.domain.ending import MetricEvidence, known_end
from receiver.domain.incident import EntryKind, Incident, IncidentStatus, TimelineEntry
from receiver.domain.moments import in_zone
from receiver.domain.periods import month_bounds, quarter_bounds
from receiver.domain.review import ActionItem

SEVERE = ("P0", "P1")
MAX_MONTHS = 36  # the longest range one report covers
ALL_SERVICES = ""  # the service of the rows that sum up every service shown


@dataclass(frozen=True, slots=True)
class KpiIncident:
    """One incident as the KPIs read it."""

    incident: Incident
    # its acknowledgements and what known_end reads (resolves, reports of recovery)
    entries: tuple[TimelineEntry, ...]
    has_alerts: bool
    previous_end: datetime | None  # the previous incident of the same key ended then
    first_draft_at: datetime | None  # revision 1 was written then
    actions: tuple[ActionItem, ...] = ()
    evidence: MetricEvidence | None = None  # Prometheus' evidence, as the drafts use it


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month or quarter in the team's zone, as UTC bounds [start, end)."""

    label: str  # "2026-11" or "2026-Q4"
    start: datetime
    end: datetime

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class Targets:
    mttr: timedelta  # below
    mtbf: timedelta  # above
    incidents_per_month: int  # fewer than this
    severe_per_quarter: int  # P0/P1, fewer than this


@dataclass(frozen=True, slots=True)
class Mean:
    """An average duration, over how many, and how many of those end at an estimate."""

    value: timedelta | None
    count: int
    estimated: int = 0


@dataclass(frozen=True, slots=True)
class MonthFigures:
    service: str  # ALL_SERVICES for every service shown together
    month: str
    incidents: int
    mttr: Mean
    mtta: Mean
    mtbf: Mean
    mttr_met: bool | None  # None: nothing ended this month
    mtbf_met: bool | None
    count_met: bool


@dataclass(frozen=True, slots=True)
class QuarterFigures:
    service: str
    quarter: str
    incidents: int
    severe: int  # P0/P1
    severe_met: bool


@dataclass(frozen=True, slots=True)
class ReviewFigures:
    drafted: int
    in_review: int
    approved: int
    approval: Mean  # first draft → approval
    approval_median: timedelta | None


@dataclass(frozen=True, slots=True)
class OverdueAction:
    incident_id: int
    service: str
    text: str
    owner: str
    due: date


@dataclass(frozen=True, slots=True)
class KpiReport:
    months: tuple[Period, ...]
    quarters: tuple[Period, ...]
    services: tuple[str, ...]  # those with incidents in the months, sorted
    totals: tuple[MonthFigures, ...]  # every month, all services shown together
    by_service: tuple[MonthFigures, ...]  # per service, months with incidents only
    quarter_totals: tuple[QuarterFigures, ...]
    quarters_by_service: tuple[QuarterFigures, ...]
    review: ReviewFigures
    overdue: tuple[OverdueAction, ...]
    targets: Targets


# -- the calendar ------------------------------------------------------------------------


def months_until(year: int, month: int, count: int, zone: ZoneInfo) -> tuple[Period, ...]:
    """`count` calendar months in the zone, the last one being year-month."""
    periods = []
    index = year * 12 + month - 1
    for back in range(count - 1, -1, -1):
        y, m = divmod(index - back, 12)
        start, end = month_bounds(datetime(y, m + 1, 15, 12, tzinfo=zone), zone)
        periods.append(Period(f"{y:04d}-{m + 1:02d}", start, end))
    return tuple(periods)


def quarters_of(months: Sequence[Period], zone: ZoneInfo) -> tuple[Period, ...]:
    """The whole quarters the months fall in: P0/P1 counts are per calendar quarter."""
    found: dict[str, Period] = {}
    for period in months:
        local = in_zone(period.start, zone)
        label = f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"
        if label not in found:
            start, end = quarter_bounds(period.start, zone)
            found[label] = Period(label, start, end)
    return tuple(found.values())


# -- the figures -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Read:
    """One incident's figures, worked out once."""

    source: KpiIncident
    recovery: timedelta | None  # start → end, as the drafts state the end
    estimated: bool  # that end is an estimate
    acknowledgement: timedelta | None  # start → first ack
    gap: timedelta | None  # previous end of the key → this start

    @property
    def incident(self) -> Incident:
        return self.source.incident


def _read(item: KpiIncident) -> _Read:
    incident = item.incident
    start = incident.started_at
    end, source = known_end(incident, item.entries, item.has_alerts, item.evidence)
    acks = [e.at for e in item.entries if e.kind is EntryKind.ACK]
    previous = item.previous_end
    return _Read(
        source=item,
        recovery=max(end - start, timedelta(0)) if end is not None else None,
        estimated=source.estimated,
        # an ack reported with a time before the start acknowledged it at once
        acknowledgement=max(min(acks) - start, timedelta(0)) if acks else None,
        gap=(start - previous) if previous is not None and previous <= start else None,
    )


def _mean(values: Iterable[tuple[timedelta, bool]]) -> Mean:
    found = list(values)
    if not found:
        return Mean(None, 0)
    total = sum((value for value, _ in found), timedelta(0))
    return Mean(total / len(found), len(found), sum(1 for _, estimated in found if estimated))


def _month(service: str, month: str, reads: Sequence[_Read], targets: Targets) -> MonthFigures:
    mttr = _mean((r.recovery, r.estimated) for r in reads if r.recovery is not None)
    mtbf = _mean((r.gap, False) for r in reads if r.gap is not None)
    return MonthFigures(
        service=service,
        month=month,
        incidents=len(reads),
        mttr=mttr,
        mtta=_mean((r.acknowledgement, False) for r in reads if r.acknowledgement is not None),
        mtbf=mtbf,
        mttr_met=None if mttr.value is None else mttr.value < targets.mttr,
        mtbf_met=None if mtbf.value is None else mtbf.value > targets.mtbf,
        count_met=len(reads) < targets.incidents_per_month,
    )


def _quarter(
    service: str, quarter: str, reads: Sequence[_Read], targets: Targets
) -> QuarterFigures:
    severe = sum(1 for r in reads if r.incident.priority in SEVERE)
    return QuarterFigures(service, quarter, len(reads), severe, severe < targets.severe_per_quarter)


F = TypeVar("F", MonthFigures, QuarterFigures)


def _in(period: Period, reads: Iterable[_Read]) -> list[_Read]:
    return [r for r in reads if period.holds(r.incident.started_at)]


def _per_service(
    services: Sequence[str],
    periods: Sequence[Period],
    reads: Sequence[_Read],
    make: Callable[[str, str, Sequence[_Read], Targets], F],
    targets: Targets,
) -> tuple[F, ...]:
    rows = []
    for service in services:
        own = [r for r in reads if r.incident.service == service]
        for period in periods:
            inside = _in(period, own)
            if inside:
                rows.append(make(service, period.label, inside, targets))
    return tuple(rows)


def _median(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _review(reads: Sequence[_Read]) -> ReviewFigures:
    def status_count(status: IncidentStatus) -> int:
        return sum(1 for r in reads if r.incident.status is status)

    waits = [
        r.incident.approved_at - r.source.first_draft_at
        for r in reads
        if r.incident.status is IncidentStatus.APPROVED
        and r.incident.approved_at is not None
        and r.source.first_draft_at is not None
        and r.incident.approved_at >= r.source.first_draft_at
    ]
    return ReviewFigures(
        drafted=status_count(IncidentStatus.DRAFTED),
        in_review=status_count(IncidentStatus.IN_REVIEW),
        approved=status_count(IncidentStatus.APPROVED),
        approval=_mean((wait, False) for wait in waits),
        approval_median=_median(waits),
    )


def _overdue(reads: Sequence[_Read], today: date) -> list[OverdueAction]:
    found = [
        OverdueAction(r.incident.id or 0, r.incident.service, action.text, action.owner, action.due)
        for r in reads
        for action in r.source.actions
        if action.due is not None and action.due < today and not action.done
    ]
    return sorted(found, key=lambda a: (a.due, a.incident_id, a.text))


def kpi_report(
    incidents: Iterable[KpiIncident],
    months: Sequence[Period],
    zone: ZoneInfo,
    targets: Targets,
    today: date,
) -> KpiReport:
    """The figures of the incidents that started in `months` (P0/P1 counts: in the whole
    quarters those months fall in). `today` is the team's date: an action item due
    before it and not done is overdue."""
    quarters = quarters_of(months, zone)
    reads = [_read(item) for item in incidents]
    in_quarters = [r for r in reads if any(q.holds(r.incident.started_at) for q in quarters)]
    in_months = [r for r in reads if any(m.holds(r.incident.started_at) for m in months)]
    services = tuple(sorted({r.incident.service for r in in_months}))
    by_service = _per_service(services, months, in_months, _month, targets)
    quarter_services = tuple(sorted({r.incident.service for r in in_quarters}))
    quarters_by_service = _per_service(quarter_services, quarters, in_quarters, _quarter, targets)
    return KpiReport(
        months=tuple(months),
        quarters=quarters,
        services=services,
        totals=tuple(_month(ALL_SERVICES, m.label, _in(m, in_months), targets) for m in months),
        by_service=by_service,
        quarter_totals=tuple(
            _quarter(ALL_SERVICES, q.label, _in(q, in_quarters), targets) for q in quarters
        ),
        quarters_by_service=quarters_by_service,
        review=_review(in_months),
        overdue=tuple(_overdue(in_months, today)),
        targets=targets,
    )


# -- changes followed by incidents (issue 20) ---------------------------------------------

# what a team ships: a rollback or a scaling is mostly a response, not a change that fails
SHIPPED = (ChangeType.DEPLOY, ChangeType.CONFIG)


@dataclass(frozen=True, slots=True)
class ChangeFailure:
    """Of a service's deploys and config changes, how many an incident of the same
    service followed within the window (the change-failure rate)."""

    service: str
    changes: int
    failed: int

    @property
    def rate(self) -> float:
        return self.failed / self.changes


def change_failures(
    changes: Iterable[ServiceChange],
    incident_starts: Iterable[tuple[str, datetime]],
    window: timedelta,
) -> tuple[ChangeFailure, ...]:
    """Per service (sorted): a change failed when an incident of its service started
    after it, no later than `window` after it (the window the drafts rank changes in)."""
    starts: dict[str, list[datetime]] = {}
    for service, started_at in incident_starts:
        starts.setdefault(service, []).append(started_at)
    counts: dict[str, list[int]] = {}
    for change in changes:
        if change.type not in SHIPPED:
            continue
        followed = any(
            change.started_at <= start <= change.started_at + window
            for start in starts.get(change.service, ())
        )
        count = counts.setdefault(change.service, [0, 0])
        count[0] += 1
        count[1] += followed
    return tuple(
        ChangeFailure(service, total, failed) for service, (total, failed) in sorted(counts.items())
    )
