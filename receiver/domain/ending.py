"""When an incident ended, and how that is known: Alertmanager's endsAt, reconciliation
(only an upper bound: a silenced alert resolves without a notification), a person's
earlier report of recovery, or Prometheus' evidence of the metric back under its
threshold before that. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from receiver.domain.incident import EntryKind, Incident, Source, TimelineEntry

# What people report when the service is back: an end time to trust over reconciliation's
REPORTED_END_KINDS = (EntryKind.RESOLVE, EntryKind.VERIFY, EntryKind.MONITOR_OK)
_PEOPLE = (Source.MANUAL, Source.UI)


@dataclass(frozen=True, slots=True)
class EndSource:
    """Where an end time comes from, so a draft or page can say so."""

    # "ends_at": Alertmanager's endsAt; "reconcile": when reconciliation found the alerts
    # gone (an upper bound); "reported": a person's resolve/verify/monitor-ok before that;
    # "evidence": Prometheus showed the alerts' metric back under its threshold before;
    # "manual": an incident without alerts, ended by a person; "": not ended
    kind: str = ""
    actor: str = ""  # who reported the end ("reported")
    report: str = ""  # the entry kind they reported ("reported")
    silences: tuple[tuple[str, str], ...] = ()  # (silence id, who set it): why no resolve came
    query: str = ""  # the charted query whose recovery was the last ("evidence")
    chart: int = 0  # its chart's number in the draft ("evidence")

    @property
    def estimated(self) -> bool:
        """Durations from this end are estimates: it is not an Alertmanager endsAt."""
        return self.kind in ("reconcile", "reported", "evidence")


# one time a series crossed its threshold: its first sample in breach, and the first
# sample back to normal (None: still in breach at its last sample)
Breach = tuple[datetime, datetime | None]


@dataclass(frozen=True, slots=True)
class ChartBreaches:
    """One alert expression's evidence: per series that crossed the threshold, its
    breaches in time order."""

    number: int  # the chart's number in the draft
    query: str
    series: tuple[tuple[Breach, ...], ...]


@dataclass(frozen=True, slots=True)
class MetricEvidence:
    """What Prometheus showed for every alert expression of the incident, up to `until`
    (the end of the window it was asked about). Only evidence that covers all the
    incident's alerts is passed on: one alert's metric back says nothing of another's."""

    until: datetime
    charts: tuple[ChartBreaches, ...]


def metric_back(evidence: MetricEvidence, bound: datetime) -> tuple[datetime, ChartBreaches] | None:
    """When the metric was back under its threshold for good, as far as `bound` (when
    reconciliation found the alerts gone), and the chart that was back last.

    A series is back at the end of its last breach before the bound, if that breach ended
    by then: one that dipped under and crossed again is not back. The metric is back when
    every series that crossed is, in every chart; a chart with none that crossed shows
    nothing to be back from. Evidence that stops before the bound cannot say."""
    if not evidence.charts or evidence.until < bound:
        return None
    latest: tuple[datetime, ChartBreaches] | None = None
    for chart in evidence.charts:
        back = _chart_back(chart, bound)
        if back is None:
            return None
        if latest is None or back > latest[0]:
            latest = (back, chart)
    return latest


def _chart_back(chart: ChartBreaches, bound: datetime) -> datetime | None:
    backs: list[datetime] = []
    for breaches in chart.series:
        before = [breach for breach in breaches if breach[0] <= bound]
        if not before:
            continue  # crossed only after the bound: not this incident's
        back = before[-1][1]
        if back is None or back > bound:
            return None  # still in breach at the bound
        backs.append(back)
    return max(backs, default=None)


def known_end(
    incident: Incident,
    entries: Sequence[TimelineEntry],
    has_alerts: bool,
    evidence: MetricEvidence | None = None,
) -> tuple[datetime | None, EndSource]:
    """The end to state, and where it comes from. Reconciliation only knows the alerts
    were gone by the time it asked: a person's earlier report of recovery, or the
    evidence of the metric back under its threshold, is better; the earlier of the two,
    and never before the incident started."""
    end = incident.ended_at
    if end is None:
        return None, EndSource()
    if not has_alerts:
        return end, EndSource("manual")
    recovered = [e for e in entries if e.kind is EntryKind.ALL_RESOLVED]
    if not recovered or max(recovered, key=lambda e: e.at).source is not Source.RECONCILE:
        return end, EndSource("ends_at")
    silences = tuple(
        dict.fromkeys(
            (e.subject, e.actor or "")
            for e in sorted(entries, key=lambda e: e.at)
            if e.kind is EntryKind.ACK and e.source is Source.SILENCE
        )
    )
    reported = min(
        (
            e
            for e in entries
            if e.kind in REPORTED_END_KINDS
            and e.source in _PEOPLE
            and incident.started_at <= e.at <= end
        ),
        key=lambda e: e.at,
        default=None,
    )
    back = metric_back(evidence, end) if evidence is not None else None
    if back is not None and incident.started_at <= back[0] < end:
        at, chart = back
        if reported is None or at < reported.at:
            return at, EndSource(
                "evidence", silences=silences, query=chart.query, chart=chart.number
            )
    if reported is not None:
        return reported.at, EndSource(
            "reported", reported.actor or "", reported.kind.value, silences
        )
    return end, EndSource("reconcile", silences=silences)
