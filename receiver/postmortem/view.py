"""The view the templates render: rows, intervals and lines, built from one DraftInput."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from receiver.config.links import LinksSettings
from receiver.domain.completeness import Completeness
from receiver.domain.ending import EndSource, MetricEvidence
from receiver.domain.history import History
from receiver.domain.incident import Episode, Incident, PriorityReason, Rules, TimelineEntry
from receiver.domain.review import HumanFields
from receiver.domain.slo import Triggers, Verdict
from receiver.domain.suggestions import Suggestions
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
    triggers: Triggers = field(default_factory=Triggers)  # the postmortem policy's
