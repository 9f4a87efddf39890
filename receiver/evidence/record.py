"""The evidence of one incident as stored and as drafts show it (pure data, JSON both ways)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

# the template's 业务指标 targets: (comparison, target) per figure
BUSINESS_TARGETS: dict[str, tuple[str, float]] = {
    "availability": (">", 0.999),
    "latency_p95": ("<", 0.3),  # seconds
    "error_rate": ("<", 0.01),
}


@dataclass(frozen=True, slots=True)
class Breach:
    """One time a series crossed its threshold: the first sample in breach and the first
    back to normal after it (None: still in breach at its last sample)."""

    start: datetime
    back: datetime | None


@dataclass(frozen=True, slots=True)
class ChartEvidence:
    """One alert expression: its chart and figures, or why they are missing."""

    expr: str  # the alert's expression as its generatorURL has it
    query: str  # what was charted: the expression less its comparison
    threshold: str | None  # e.g. "> 0.05"
    reason: str | None = None  # None when the query answered
    svg: str | None = None
    series: int = 0
    truncated: int = 0  # series beyond the chart's cap
    peak: float | None = None
    peak_at: datetime | None = None
    peak_labels: str = ""
    breach_seconds: float | None = None
    first_crossing: datetime | None = None
    last_crossing: datetime | None = None
    # per series that crossed the threshold, its breaches in order: when the metric was
    # back (records stored before this field have none, and so tell nothing about it)
    breaches: list[list[Breach]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class BusinessFigure:
    """One of the template's 业务指标 over the incident window, from the user's query."""

    name: str  # availability | latency_p95 | error_rate
    query: str
    reason: str | None = None
    worst: float | None = None  # the lowest availability, the highest latency or errors
    average: float | None = None

    @property
    def met(self) -> bool | None:
        if self.worst is None:
            return None
        op, target = BUSINESS_TARGETS[self.name]
        return self.worst > target if op == ">" else self.worst < target


@dataclass(frozen=True, slots=True)
class SloFigure:
    """What one SLO of the service measured of the incident, or why it could not."""

    name: str
    kind: str  # availability | latency
    objective: float  # the fraction of good events, 0.999
    window_seconds: float  # the SLO window the budget is counted over
    queries: list[str]  # what was asked, as "good: …", "total: …" or "error_ratio: …"
    reason: str | None = None  # None when everything answered
    latency_threshold_seconds: float | None = None
    # the first step whose SLI missed the objective, the first back within it; no start:
    # the SLI never missed it during the incident; no end: not back by `until`
    impact_start: datetime | None = None
    impact_end: datetime | None = None
    until: datetime | None = None  # the last sample asked for
    bad: float | None = None  # bad and all events during the impact (counted SLOs)
    total: float | None = None
    worst_ratio: float | None = None  # the highest error ratio of a step in the impact
    burned: float | None = None  # of the window's budget, 0.37 = 37%
    remaining: float | None = None  # of the window's budget after the incident
    # the burn comes from error ratios alone (no counts): exact only for even traffic
    estimated: bool = False
    users_query: str | None = None
    users: float | None = None
    users_reason: str | None = None

    @property
    def error_rate(self) -> float | None:
        """Bad ÷ all events in the impact; None without counts (an error-ratio SLI)."""
        if self.bad is None or not self.total:
            return None
        return self.bad / self.total

    @property
    def ok(self) -> bool:
        return self.reason is None and self.users_reason is None


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    fetched_at: datetime
    window_start: datetime
    window_end: datetime
    source: str  # the Prometheus asked (no credentials in it)
    charts: list[ChartEvidence] = field(default_factory=list)
    business: list[BusinessFigure] = field(default_factory=list)
    # the service's SLOs over the incident (records stored before them have none)
    slos: list[SloFigure] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return (
            all(c.ok for c in self.charts)
            and all(b.reason is None for b in self.business)
            and all(s.ok for s in self.slos)
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _jsonable(asdict(self))
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvidenceRecord:
        return cls(
            fetched_at=_time(data["fetched_at"]),
            window_start=_time(data["window_start"]),
            window_end=_time(data["window_end"]),
            source=data["source"],
            charts=[
                ChartEvidence(
                    **{
                        **c,
                        "peak_at": _opt_time(c.get("peak_at")),
                        "first_crossing": _opt_time(c.get("first_crossing")),
                        "last_crossing": _opt_time(c.get("last_crossing")),
                        "breaches": [
                            [Breach(_time(b["start"]), _opt_time(b["back"])) for b in one]
                            for one in c.get("breaches", [])
                        ],
                    }
                )
                for c in data.get("charts", [])
            ],
            business=[BusinessFigure(**b) for b in data.get("business", [])],
            slos=[
                SloFigure(
                    **{
                        **f,
                        "impact_start": _opt_time(f.get("impact_start")),
                        "impact_end": _opt_time(f.get("impact_end")),
                        "until": _opt_time(f.get("until")),
                    }
                )
                for f in data.get("slos", [])
            ],
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _opt_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


PENDING, PARTIAL, COMPLETE = "pending", "partial", "complete"


@dataclass(frozen=True, slots=True)
class StoredEvidence:
    """The row: pending (not fetched yet), partial (something missing, retried) or
    complete, with its record once fetched."""

    incident_id: int
    state: str
    record: EvidenceRecord | None
    attempts: int
