"""Ask Prometheus what an incident cost each SLO of its service: the impact window from
the SLI (the evidence's threshold logic: `breaches` against the objective), the events
in it, and the error budget burned. Every failure becomes a reason, never an exception.

The measuring functions are pure; `measure` does the asking.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from receiver.config.slo import SloSettings
from receiver.domain.ending import Breach
from receiver.domain.slo import (
    ImpactWindow,
    Point,
    SloFacts,
    budget_burned,
    budget_burned_by_time,
    error_ratios,
    events_in,
    impact_window,
    increases,
    summed,
)
from receiver.evidence.prometheus import EvidenceUnavailable, QueryResult
from receiver.evidence.promql import Threshold
from receiver.evidence.record import SloFigure
from receiver.evidence.series import Series
from receiver.evidence.summary import breaches, infer_step

# breaches of the objective this close together are one impact that flickered
MERGE_GAP = timedelta(minutes=5)

# (query, start, end) → the series; raises EvidenceUnavailable
Ask = Callable[[str, datetime, datetime], Awaitable[QueryResult]]


@dataclass(frozen=True, slots=True)
class Measured:
    """The SLI during the incident window: per step, bad and all events (counted SLOs)
    or just the error ratio, and the impact found among its breaches."""

    ratios: list[Point]
    impact: ImpactWindow | None
    until: datetime
    bad: dict[datetime, float]
    total: dict[datetime, float]


def growth(series: Sequence[Series]) -> dict[datetime, float]:
    """The counters' growth per step, each series read for resets on its own, then added
    up: summing first would read one pod's restart as everyone's."""
    return summed(increases(one.points) for one in series)


def bad_events(
    good_or_bad: Sequence[Series], total: dict[datetime, float], counts_good: bool
) -> dict[datetime, float]:
    """Bad events per step: the `bad` counters' growth, or total less the `good` ones'."""
    counted = growth(good_or_bad)
    if not counts_good:
        return counted
    return {moment: max(events - counted.get(moment, 0.0), 0.0) for moment, events in total.items()}


def impact_of(
    ratios: Sequence[Point],
    objective: float,
    incident: tuple[datetime, datetime],
    not_before: datetime | None = None,
) -> ImpactWindow | None:
    """The impact among the steps whose error ratio exceeded what the objective allows;
    none of it before `not_before` (when the service's previous incident ended)."""
    allowed = Threshold(">", round(1.0 - objective, 12))
    found = breaches(Series({}, list(ratios)), allowed, keep=0)
    return impact_window(since(found, not_before), incident[0], incident[1], MERGE_GAP)


def since(found: Sequence[Breach], not_before: datetime | None) -> list[Breach]:
    """The breaches after a moment: those over by then dropped, one going on cut there."""
    if not_before is None:
        return list(found)
    return [
        (max(start, not_before), back) for start, back in found if back is None or back > not_before
    ]


def measure_counted(
    good_or_bad: Sequence[Series],
    total: Sequence[Series],
    counts_good: bool,
    objective: float,
    incident: tuple[datetime, datetime],
    not_before: datetime | None = None,
) -> Measured:
    all_events = growth(total)
    bad = bad_events(good_or_bad, all_events, counts_good)
    ratios = error_ratios(bad, all_events)
    until = max((moment for one in total for moment, _ in one.points), default=incident[1])
    impact = impact_of(ratios, objective, incident, not_before)
    return Measured(ratios, impact, until, bad, all_events)


def measure_ratio(
    series: Sequence[Series],
    objective: float,
    incident: tuple[datetime, datetime],
    not_before: datetime | None = None,
) -> Measured:
    """An error-ratio SLI: the worst series per step (one bad shard is users' pain)."""
    ratios = worst_per_step(series)
    until = ratios[-1][0] if ratios else incident[1]
    return Measured(ratios, impact_of(ratios, objective, incident, not_before), until, {}, {})


def worst_per_step(series: Sequence[Series]) -> list[Point]:
    worst: dict[datetime, float] = {}
    for one in series:
        for moment, value in one.points:
            worst[moment] = max(worst.get(moment, value), value)
    return sorted(worst.items())


def in_impact(ratios: Sequence[Point], impact: ImpactWindow, until: datetime) -> list[Point]:
    end = impact.end or until
    return [
        (moment, ratio)
        for moment, ratio in ratios
        if impact.start <= moment < end or (impact.end is None and moment == until)
    ]


async def measure(
    ask: Ask,
    slo: SloSettings,
    window: tuple[datetime, datetime],
    incident: tuple[datetime, datetime],
    not_before: datetime | None = None,
) -> tuple[SloFigure, list[Point]]:
    """The SLO's figures for the incident, and its error ratio per step (to draw); what
    Prometheus could not answer is a reason. `not_before`: when the service's previous
    incident ended."""
    figure = SloFigure(
        name=slo.name,
        kind=slo.kind,
        objective=slo.target,
        window_seconds=slo.window.total_seconds(),
        queries=_queries(slo),
        latency_threshold_seconds=(
            slo.latency_threshold.total_seconds() if slo.latency_threshold else None
        ),
        users_query=slo.users,
    )
    try:
        measured = await _sli(ask, slo, window, incident, not_before)
        return await _figures(ask, slo, figure, measured), measured.ratios
    except EvidenceUnavailable as exc:
        return replace(figure, reason=exc.reason), []


def sli_chart_name(slo: str) -> str:
    """What an SLO's chart is called in the draft, like a recording rule's name."""
    return f"slo:{slo}:error_ratio"


async def _sli(
    ask: Ask,
    slo: SloSettings,
    window: tuple[datetime, datetime],
    incident: tuple[datetime, datetime],
    not_before: datetime | None,
) -> Measured:
    """The SLI over the window (the incident with its margins) and its impact."""
    counters = slo.counters()
    if counters is None:
        assert slo.error_ratio is not None  # the settings' validator: one or the other
        answer = await ask(slo.error_ratio, *window)
        measured = measure_ratio(answer.series, slo.target, incident, not_before)
    else:
        totals = await ask(counters[1], *window)
        counted = await ask(counters[0], *window)
        measured = measure_counted(
            counted.series, totals.series, slo.good is not None, slo.target, incident, not_before
        )
    if not measured.ratios:
        raise EvidenceUnavailable("Prometheus has no samples in the window")
    return measured


@dataclass(frozen=True, slots=True)
class _Budget:
    burned: float | None
    spent: float | None  # of the window's budget, this incident's included
    bad: float | None = None  # the impact's events (counted SLIs only)
    total: float | None = None
    estimated: bool = False


async def _figures(ask: Ask, slo: SloSettings, figure: SloFigure, measured: Measured) -> SloFigure:
    impact = measured.impact
    if impact is None:  # the SLI met its objective throughout: nothing burned
        return replace(figure, until=measured.until, burned=0.0, bad=0.0, total=0.0)
    inside = in_impact(measured.ratios, impact, measured.until)
    counters = slo.counters()
    if counters is None:
        budget = await _budget_by_ratio(ask, slo, measured, inside)
    else:
        budget = await _budget_by_counts(ask, slo, counters, measured, impact)
    users, users_reason = await _users(ask, slo, impact, measured.until)
    return replace(
        figure,
        impact_start=impact.start,
        impact_end=impact.end,
        until=measured.until,
        bad=budget.bad,
        total=budget.total,
        worst_ratio=max((ratio for _, ratio in inside), default=None),
        burned=budget.burned,
        remaining=None if budget.spent is None else 1.0 - budget.spent,
        estimated=budget.estimated,
        users=users,
        users_reason=users_reason,
    )


async def _budget_by_counts(
    ask: Ask,
    slo: SloSettings,
    counters: tuple[str, str],
    measured: Measured,
    impact: ImpactWindow,
) -> _Budget:
    """Bad events of the impact over the window's budget. The window's events as
    Prometheus' `increase` counts them: resets and series born within the window
    included, which steps a month long would miss."""
    end = impact.end or measured.until
    all_events = await window_increase(ask, counters[1], slo.window, end)
    counted_events = await window_increase(ask, counters[0], slo.window, end)
    window_bad = all_events - counted_events if slo.good is not None else counted_events
    bad = events_in(measured.bad, impact, measured.until)
    return _Budget(
        burned=budget_burned(bad, all_events, slo.target),
        spent=budget_burned(max(window_bad, 0.0), all_events, slo.target),
        bad=bad,
        total=events_in(measured.total, impact, measured.until),
    )


async def _budget_by_ratio(
    ask: Ask, slo: SloSettings, measured: Measured, inside: list[Point]
) -> _Budget:
    """An error ratio alone: burn rate × duration over the window (an estimate)."""
    assert slo.error_ratio is not None
    impact = measured.impact
    assert impact is not None
    step = infer_step([Series({}, measured.ratios)]) or timedelta(seconds=60)
    end = impact.end or measured.until
    history = await ask(slo.error_ratio, end - slo.window, end)
    over_window = worst_per_step(history.series)
    return _Budget(
        burned=budget_burned_by_time(inside, step, slo.window, slo.target),
        spent=budget_burned_by_time(
            over_window, infer_step(history.series) or step, slo.window, slo.target
        ),
        estimated=True,
    )


async def window_increase(ask: Ask, selector: str, window: timedelta, end: datetime) -> float:
    """`sum(increase(selector[window]))` at `end`: 0 when the counters have no samples."""
    seconds = int(window.total_seconds())
    answer = await ask(f"sum(increase({selector}[{seconds}s]))", end - timedelta(seconds=1), end)
    latest = [one.points[-1] for one in answer.series if one.points]
    return max(latest)[1] if latest else 0.0


async def _users(
    ask: Ask, slo: SloSettings, impact: ImpactWindow, until: datetime
) -> tuple[float | None, str | None]:
    """The user-count query's highest value during the impact."""
    if slo.users is None:
        return None, None
    end = impact.end or until
    if end <= impact.start:
        return None, "the impact window is empty"
    try:
        answer = await ask(slo.users, impact.start, end)
    except EvidenceUnavailable as exc:
        return None, exc.reason
    values = [value for one in answer.series for _, value in one.points]
    if not values:
        return None, "Prometheus has no samples in the window"
    return max(values), None


def _queries(slo: SloSettings) -> list[str]:
    named = [
        ("good", slo.good),
        ("bad", slo.bad),
        ("total", slo.total),
        ("error_ratio", slo.error_ratio),
    ]
    return [f"{name}: {query}" for name, query in named if query is not None]


def facts(figure: SloFigure, first_alert: datetime) -> SloFacts:
    """What the postmortem policy weighs of one SLO's figures (None: not known)."""
    start = figure.impact_start
    if figure.reason is not None and start is None:
        return SloFacts(figure.name, None, None, None)
    if start is None:  # the SLI met its objective: no impact, nothing burned
        return SloFacts(figure.name, figure.burned, timedelta(0), None)
    end = figure.impact_end or figure.until or start
    return SloFacts(figure.name, figure.burned, end - start, first_alert - start)
