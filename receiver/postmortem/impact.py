"""The SLOs' figures as the draft shows them: the impact window beside the alerts',
time to detect, the budget burned and left, availability or latency against the
objective, and the affected users, each with its queries (pure, already formatted)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from receiver.domain.slo import Triggers, Verdict
from receiver.evidence.record import SloFigure


@dataclass(frozen=True, slots=True)
class SloLine:
    name: str
    kind: str  # availability | latency
    objective: str  # "99.9%"
    window_days: str  # "30"
    queries: list[tuple[str, str]]  # (good | bad | total | error_ratio, PromQL)
    reason: str | None  # why the figures are missing; None when Prometheus answered
    impact: bool  # the SLI missed its objective during the incident
    impact_start: str
    impact_end: str  # "" when not back by the last sample
    impact_minutes: str  # "29.0"
    until: str  # the last sample asked for, when the impact had not ended
    # time to detect: impact start → first alert (None: no impact); when the alert came
    # first (a cause users felt later), how much earlier
    detect: timedelta | None
    alert_first: bool
    burned: str | None  # "37%"
    remaining: str | None  # of the window's budget after the incident; None: overspent
    overspent: str | None  # beyond the whole budget, e.g. "20%"
    estimated: bool  # the burn assumes even traffic (an error-ratio SLI)
    good_share: str | None  # availability (or share under the latency threshold) in the impact
    error_rate: str | None
    met: bool | None  # the impact's events as a whole against the objective
    worst: str | None  # the highest error ratio of a step in the impact
    bad: str | None  # "400 / 4000" events
    latency_threshold: str  # "300ms"
    users: str | None
    users_query: str | None
    users_reason: str | None


@dataclass(frozen=True, slots=True)
class PolicyLine:
    """The postmortem policy's verdict as the header and the review page say it."""

    required: bool
    trigger: str  # budget | impact | detect | priority | person | none
    detail: str
    slo: str
    unknown: bool  # no trigger met, but some SLO figures were missing: it may change
    # the triggers switched on, their limits in their units ("" when off)
    budget_percent: str
    impact_minutes: str
    detect_minutes: str
    priorities: list[str]


def slo_lines(
    figures: Sequence[SloFigure],
    clock: Callable[[datetime], str],
    first_alert: datetime,
) -> list[SloLine]:
    return [_line(figure, clock, first_alert) for figure in figures]


def _line(figure: SloFigure, clock: Callable[[datetime], str], first_alert: datetime) -> SloLine:
    start, end = figure.impact_start, figure.impact_end
    last = figure.until or end or start
    error_rate = figure.error_rate
    return SloLine(
        name=figure.name,
        kind=figure.kind,
        objective=_percent(figure.objective, digits=3),
        window_days=f"{figure.window_seconds / 86400:g}",
        queries=[_named(query) for query in figure.queries],
        reason=figure.reason,
        impact=start is not None,
        impact_start=clock(start) if start else "",
        impact_end=clock(end) if end else "",
        impact_minutes=(
            f"{((end or last or start) - start).total_seconds() / 60:.1f}" if start else ""
        ),
        until=clock(last) if last and start and not end else "",
        detect=abs(first_alert - start) if start else None,
        alert_first=start is not None and first_alert < start,
        burned=_percent(figure.burned) if figure.burned is not None else None,
        remaining=_percent(left) if (left := figure.remaining) is not None and left >= 0 else None,
        overspent=_percent(-left) if left is not None and left < 0 else None,
        estimated=figure.estimated,
        good_share=_percent(1 - error_rate, digits=3) if error_rate is not None else None,
        error_rate=_percent(error_rate, digits=3) if error_rate is not None else None,
        met=None if error_rate is None else error_rate <= 1 - figure.objective + 1e-12,
        worst=_percent(figure.worst_ratio, digits=3) if figure.worst_ratio is not None else None,
        bad=(
            f"{figure.bad:.0f} / {figure.total:.0f}"
            if figure.bad is not None and figure.total
            else None
        ),
        latency_threshold=_latency(figure.latency_threshold_seconds),
        users=f"{figure.users:.0f}" if figure.users is not None else None,
        users_query=figure.users_query,
        users_reason=figure.users_reason,
    )


def policy_line(verdict: Verdict | None, triggers: Triggers) -> PolicyLine | None:
    if verdict is None:
        return None
    return PolicyLine(
        verdict.required,
        verdict.trigger,
        verdict.detail,
        verdict.slo,
        verdict.unknown,
        budget_percent=_limit(triggers.budget_burned_percent),
        impact_minutes=_limit(triggers.impact_minutes),
        detect_minutes=_limit(triggers.detect_minutes),
        priorities=list(triggers.priorities),
    )


def _limit(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _percent(value: float, digits: int = 1) -> str:
    """37.0% as "37%", 99.9% as "99.9%", 99.95% as "99.95%": no more digits than needed."""
    text = f"{value * 100:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _latency(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:g}ms" if seconds < 1 else f"{seconds:g}s"


def _named(query: str) -> tuple[str, str]:
    """ "good: sum(…)" → ("good", "sum(…)"), as the record keeps them."""
    name, _, text = query.partition(": ")
    return name, text
