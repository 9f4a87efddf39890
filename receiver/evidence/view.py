"""Stored evidence → what the draft templates show, already formatted (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from receiver.domain.moments import in_zone
from receiver.evidence.record import BusinessFigure, ChartEvidence, StoredEvidence

MAX_CHARTS = 20  # the most alert expressions charted (RECEIVER_EVIDENCE_MAX_EXPRESSIONS ≤ this)


@dataclass(frozen=True, slots=True)
class ChartLine:
    number: int
    query: str
    threshold: str | None
    file: str | None  # the SVG beside the draft file; None when the query failed
    reason: str | None
    series: int
    truncated: int
    peak: str
    peak_at: str
    peak_labels: str
    breach_minutes: str | None
    first_crossing: str
    last_crossing: str


@dataclass(frozen=True, slots=True)
class BusinessLine:
    value: str  # the worst over the incident, e.g. "99.52%"
    average: str
    met: bool | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class EvidenceView:
    state: str  # pending | partial | complete
    fetched_at: str
    window: str
    source: str
    charts: list[ChartLine]
    business: dict[str, BusinessLine]


def chart_file(draft_file: str, number: int) -> str:
    """`2026-11-26-1-checkout-higherrorrate-evidence-1.svg` beside its draft file."""
    return f"{draft_file.removesuffix('.md')}-evidence-{number}.svg"


def evidence_view(
    stored: StoredEvidence | None, draft_file: str, zone: ZoneInfo
) -> EvidenceView | None:
    if stored is None:
        return None
    record = stored.record
    if record is None:
        return EvidenceView(stored.state, "", "", "", [], {})

    def at(moment: datetime | None) -> str:
        return in_zone(moment, zone).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"

    charts = [_chart_line(n, chart, draft_file, at) for n, chart in enumerate(record.charts, 1)]
    return EvidenceView(
        state=stored.state,
        fetched_at=at(record.fetched_at),
        window=f"{at(record.window_start)} – {at(record.window_end)}",
        source=record.source,
        charts=charts,
        business={figure.name: _business_line(figure) for figure in record.business},
    )


def _chart_line(
    number: int, chart: ChartEvidence, draft_file: str, at: Callable[[datetime | None], str]
) -> ChartLine:
    breach = chart.breach_seconds
    return ChartLine(
        number=number,
        query=chart.query,
        threshold=chart.threshold,
        file=chart_file(draft_file, number) if chart.svg is not None else None,
        reason=chart.reason,
        series=chart.series,
        truncated=chart.truncated,
        peak=_number(chart.peak),
        peak_at=at(chart.peak_at),
        peak_labels=chart.peak_labels,
        breach_minutes=None if breach is None else f"{breach / 60:.1f}",
        first_crossing=at(chart.first_crossing),
        last_crossing=at(chart.last_crossing),
    )


def _business_line(figure: BusinessFigure) -> BusinessLine:
    return BusinessLine(
        value=_figure(figure.name, figure.worst),
        average=_figure(figure.name, figure.average),
        met=figure.met,
        reason=figure.reason,
    )


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _figure(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    if name == "latency_p95":
        return f"{value * 1000:.0f}ms"
    return f"{value * 100:.2f}%"
