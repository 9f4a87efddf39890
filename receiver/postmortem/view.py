"""The view the templates render: rows, intervals and lines, built from one DraftInput."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from receiver.config.links import LinksSettings
from receiver.domain.changes import ServiceChange
from receiver.domain.completeness import Completeness
from receiver.domain.ending import EndSource, MetricEvidence
from receiver.domain.history import History
from receiver.domain.incident import Episode, Incident, PriorityReason, Rules, TimelineEntry
from receiver.domain.recurrence import Similar
from receiver.domain.review import HumanFields
from receiver.domain.slo import Triggers, Verdict
from receiver.domain.suggestions import Suggestions
from receiver.domain.suspects import RankingRules, VerdictMark
from receiver.evidence.record import SloFigure
from receiver.evidence.view import EvidenceView
from receiver.postmortem.impact import PolicyLine, SloLine


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a timeline table."""

    time: str
    kind: str  # an EntryKind value, or "more_fired"/"more_resolved" for folded rows
    actor: str | None
    subject: str = ""
    note: str = ""
    count: int = 0
    detail: str = ""
    source: str = ""
    subjects: tuple[str, ...] = ()  # one row for several alerts (reconciled together)


@dataclass(frozen=True, slots=True)
class Interval:
    """'from the first alert to <kind>' for the key-intervals line."""

    kind: str
    span: timedelta
    to_recovery: timedelta | None = None  # from this action to all alerts resolved


@dataclass(frozen=True, slots=True)
class AlertLine:
    alertname: str
    subject: str
    starts: str
    ends: str
    fingerprint: str
    reconciled: bool = False  # `ends` is when reconciliation found it gone: an upper bound


@dataclass(frozen=True, slots=True)
class ValuesLine:
    """What an alert's rule queries returned when it fired (Grafana-managed alerts)."""

    alertname: str
    subject: str
    values: str


@dataclass(frozen=True, slots=True)
class ChangeLine:
    """One change in the incident's window, as 变更记录 and 直接原因 show it."""

    time: str
    source: str  # a ChangeSource value
    type: str  # a ChangeType value
    service: str
    summary: str
    from_version: str
    to_version: str
    actor: str
    link: str  # an http(s) link, or ""
    shared: tuple[str, ...]  # change fields shared with the alerts; "related" for related
    gap: timedelta  # how far from the first alert, before or after it
    before_first_alert: bool
    candidate: int  # its place among the 直接原因 candidates (1, 2, 3), 0 if none
    verdict: str  # "cause", "unrelated" or "" when nobody judged it
    verdict_by: str
    verdict_at: str


@dataclass(frozen=True, slots=True)
class SimilarLine:
    """One similar past incident (issue 21), as the 历史同类事故 block lists it."""

    incident_id: int
    title: str
    started: str  # "2026-11-02 08:00" in the team's zone
    status: str  # an IncidentStatus value
    reason: str  # a receiver.domain.recurrence.MatchReason value
    open_actions: int


@dataclass(frozen=True, slots=True)
class OpenItemLine:
    """An action item a similar past incident left open."""

    incident_id: int
    text: str
    owner: str
    due: str  # "" without one
    overdue: bool


@dataclass(frozen=True, slots=True)
class SimilarView:
    incidents: list[SimilarLine]
    mtbf: timedelta | None  # from these incidents and this one; None: no past end
    open_items: list[OpenItemLine]


@dataclass(slots=True)
class DraftView:
    """Everything a postmortem template may show, already formatted."""

    incident_id: int
    revision: int
    title: str
    priority: str
    priority_reason: PriorityReason
    severity_map: Mapping[str, str]
    severity_map_is_default: bool
    timezone: str
    utc_offset: str
    generated_at: str
    updated_at: str
    review_url: str
    started: str
    ended: str
    started_clock: str  # as in the tables: time only, or with the date on multi-day incidents
    ended_clock: str
    duration_minutes: int
    duration_exact: timedelta
    started_subject: str
    ended_subject: str
    end_source: EndSource
    services: list[str]
    namespaces: list[str]
    jobs: list[str]
    instances: list[str]
    alert_counts: list[tuple[str, int]]
    instance_counts: list[tuple[str, int]]
    alert_total: int
    participants: list[str]
    date_note: str
    rows: dict[str, list[Row]]
    missing_steps: dict[str, list[str]]
    time_to_recover: timedelta | None
    chain: list[AlertLine]
    chain_more: int
    alerts: list[AlertLine]
    alerts_more: int
    large: bool
    common_labels: list[tuple[str, str]]
    receiver: str
    group_key: str
    descriptions: list[str]
    descriptions_same: bool
    expressions: list[str]
    generator_urls: list[str]
    runbooks: list[str]
    dashboards: list[str]
    panels: list[str]  # Grafana's panelURL of the alerts' rules
    images: list[str]  # Grafana's screenshots of those panels
    firing_values: list[ValuesLine]
    firing_values_more: int
    sender: str  # who sent the notifications: "Alertmanager" or "Grafana"
    alertmanager_url: str
    mttr_met: bool | None
    mtbf: timedelta | None
    mtbf_met: bool | None
    previous_end: str
    month_count: int
    quarter_p0_p1: int
    service_name: str
    last_updated_date: str
    partial_view: bool
    first_ack: str
    intervals: list[Interval]
    # the last handling action before recovery (the likely fix) and its gap to recovery
    handled_to_recovered: timedelta | None
    last_action: Row | None
    actions: dict[str, list[Row]]  # handling rows by kind (restart, rollback, ...)
    h: HumanFields  # what people wrote; empty strings where nobody has yet
    # what the timeline suggests where people have not written yet; shown marked 待确认
    suggested: Suggestions
    root_causes: list[Row]  # people's root-cause reports, oldest first
    targets: Targets
    links: LinksSettings
    status: str
    approved_by: str
    approved_at: str
    completeness: Completeness  # how much of what only people know is filled
    approval_override: str  # why it was approved with required parts empty; "" if not
    evidence: EvidenceView | None = None  # None: no Prometheus configured
    # changes in the window that share labels with the alerts, by time (变更记录)
    changes: list[ChangeLine] = field(default_factory=list)
    # the top suspects, best first (直接原因): candidates 待确认 unless marked the cause
    change_candidates: list[ChangeLine] = field(default_factory=list)
    change_window: timedelta = timedelta(0)  # how long before the first alert changes count
    change_fields: list[str] = field(default_factory=list)  # what they are matched on
    similar: SimilarView | None = None  # None: no similar past incident (issue 21)
    # the service's SLOs over the incident (empty until measured, or with none configured)
    slos: list[SloLine] = field(default_factory=list)
    slo_names: tuple[str, ...] = ()  # the SLOs configured for the service
    policy: PolicyLine | None = None  # whether a postmortem is required, and why


@dataclass(frozen=True, slots=True)
class DraftInput:
    incident: Incident
    episodes: Sequence[Episode]
    timeline: Sequence[TimelineEntry]
    history: History
    revision: int
    created_at: datetime
    now: datetime
    human: HumanFields = field(default_factory=HumanFields)
    evidence: EvidenceView | None = None
    # the same evidence as the end needs it: when the alerts' metric was back
    metric_evidence: MetricEvidence | None = None
    # changes to services around the incident's time, and what people said of them
    changes: Sequence[ServiceChange] = ()
    verdicts: Sequence[VerdictMark] = ()
    # the similar past incidents, their open items and the MTBF (issue 21)
    similar: Similar = field(default_factory=Similar)
    # their titles, which the matching does not read
    similar_titles: Mapping[int, str] = field(default_factory=dict)
    slos: Sequence[SloFigure] = ()  # the SLOs' figures, from the same evidence
    slo_names: tuple[str, ...] = ()
    verdict: Verdict | None = None  # the postmortem policy's, as stored


@dataclass(frozen=True, slots=True)
class Targets:
    """The KPI section's targets: the template's unless the team set its own."""

    mttr: timedelta = timedelta(hours=1)
    mtbf: timedelta = timedelta(hours=720)
    incidents_per_month: int = 1  # fewer than this a month
    severe_per_quarter: int = 1  # fewer P0/P1 than this a quarter


@dataclass(frozen=True, slots=True)
class RenderOptions:
    language: str
    zone: ZoneInfo
    rules: Rules
    public_url: str | None = None
    large_after: int = 50
    # RECEIVER_ALERTMANAGER_URL: a notification's externalURL is often an internal pod name
    alertmanager_url: str | None = None
    targets: Targets = field(default_factory=Targets)
    links: LinksSettings = field(default_factory=LinksSettings)
    ranking: RankingRules = field(default_factory=RankingRules)
    triggers: Triggers = field(default_factory=Triggers)  # the postmortem policy's
