"""The SLOs over time, for the KPI page: the error budget incidents burned per service,
SLO and month, and the time-to-detect trend (impact start → first alert). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from receiver.domain.kpi import Mean, Period


@dataclass(frozen=True, slots=True)
class SloIncident:
    """One SLO's figures of one incident, as frozen in its evidence."""

    incident_id: int
    service: str
    slo: str
    started_at: datetime  # the first alert
    burned: float | None  # share of the window's budget, 0.37 = 37%; None: not measured
    impact_start: datetime | None  # None: the SLI met its objective throughout
    estimated: bool = False  # an error-ratio SLI's burn: assumes even traffic


@dataclass(frozen=True, slots=True)
class BudgetMonth:
    service: str
    slo: str
    month: str
    burned: float  # the month's incidents' burns added up (of one window's budget)
    incidents: int  # incidents with a measured burn
    estimated: int  # of those, burns from an error ratio alone


@dataclass(frozen=True, slots=True)
class DetectMonth:
    month: str
    detect: Mean  # impact start → first alert, over the incidents with an impact


def budget_by_month(items: Iterable[SloIncident], months: Sequence[Period]) -> list[BudgetMonth]:
    """Per service, SLO and month (in that order), what the incidents burned."""
    rows: dict[tuple[str, str, str], list[SloIncident]] = {}
    for item in items:
        if item.burned is None:
            continue
        for period in months:
            if period.holds(item.started_at):
                rows.setdefault((item.service, item.slo, period.label), []).append(item)
    return [
        BudgetMonth(
            service,
            slo,
            month,
            sum(item.burned or 0.0 for item in found),
            len(found),
            sum(1 for item in found if item.estimated),
        )
        for (service, slo, month), found in sorted(rows.items())
    ]


def detect_by_month(items: Iterable[SloIncident], months: Sequence[Period]) -> list[DetectMonth]:
    """Every month's mean time to detect: from the earliest impact start any of the
    incident's SLOs measured to its first alert (an alert before the impact: zero)."""
    earliest: dict[int, SloIncident] = {}
    for item in items:
        if item.impact_start is None:
            continue
        known = earliest.get(item.incident_id)
        if known is None or (known.impact_start and item.impact_start < known.impact_start):
            earliest[item.incident_id] = item
    spans = [
        (item.started_at, max(item.started_at - item.impact_start, timedelta(0)))
        for item in earliest.values()
        if item.impact_start is not None
    ]
    return [
        DetectMonth(period.label, _mean([span for at, span in spans if period.holds(at)]))
        for period in months
    ]


def _mean(values: Sequence[timedelta]) -> Mean:
    if not values:
        return Mean(None, 0)
    return Mean(sum(values, timedelta(0)) / len(values), len(values))
