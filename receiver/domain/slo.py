"""What an incident cost its users, from the SLI: the impact window, the error budget it
burned, and whether a postmortem is required. Pure: samples and counts in, figures out.

Counters are cumulative: what happened between two samples is their difference, and a
counter that went down was reset (a restart) and counted again from zero, as
Prometheus' `increase` reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from receiver.domain.ending import Breach

Point = tuple[datetime, float]


def increases(points: Sequence[Point]) -> list[Point]:
    """How much the counter grew between each sample and the next, at the time of the
    earlier one: the step it stands for begins there (a missing sample, a gap, makes the
    step longer). A drop is a reset: the counter started again from zero, so the new
    value is all growth.

    Dated by their start, the steps out of objective run from the first one's start to
    the first good one's: a window that holds every bad event, early by at most a step."""
    return [
        (earlier, value - before if value >= before else value)
        for (earlier, before), (_, value) in pairwise(points)
    ]


def summed(per_series: Iterable[Sequence[Point]]) -> dict[datetime, float]:
    """Several series' growths added up per sample time (Prometheus' steps align them)."""
    total: dict[datetime, float] = {}
    for points in per_series:
        for moment, value in points:
            total[moment] = total.get(moment, 0.0) + value
    return total


def error_ratios(bad: dict[datetime, float], total: dict[datetime, float]) -> list[Point]:
    """Bad ÷ total events per step, in time order. A step without events says nothing
    about users and is left out: it neither starts nor ends an impact."""
    return [
        (moment, min(max(bad.get(moment, 0.0) / events, 0.0), 1.0))
        for moment, events in sorted(total.items())
        if events > 0
    ]


@dataclass(frozen=True, slots=True)
class ImpactWindow:
    """From the first step whose SLI missed its objective to the first one back within it
    (None: still missing at the last sample, the impact had not ended)."""

    start: datetime
    end: datetime | None

    def duration(self, until: datetime) -> timedelta:
        """How long it lasted; one that had not ended lasted at least until `until`."""
        return (self.end or until) - self.start


def impact_window(
    breaches: Sequence[Breach],
    alert_start: datetime,
    alert_end: datetime,
    merge_gap: timedelta,
) -> ImpactWindow | None:
    """The incident's impact among the SLI's breaches of its objective (in time order).

    The anchor is the breach going on when the first alert fired (or the last one that
    ended within `merge_gap` before it, or else the first one after it, before the alerts
    resolved). Earlier breaches join while less than `merge_gap` lies between them: one
    impact that flickered. Every later one that began before the alerts resolved is the
    same incident's. None when the SLI never missed its objective then."""
    ordered = sorted(breaches, key=lambda breach: breach[0])
    relevant = [breach for breach in ordered if breach[0] <= alert_end]
    if not relevant:
        return None
    before = [
        index
        for index, (start, back) in enumerate(relevant)
        if start <= alert_start and (back is None or back >= alert_start - merge_gap)
    ]
    after = [index for index, (start, _) in enumerate(relevant) if start > alert_start]
    if before:
        anchor = before[-1]
    elif after:
        anchor = after[0]
    else:
        return None  # only breaches long over before the alert: not this incident's
    first = anchor
    while first > 0:
        back = relevant[first - 1][1]
        if back is None or relevant[first][0] - back > merge_gap:
            break
        first -= 1
    last_back = relevant[-1][1]
    if any(back is None for _, back in relevant[anchor:]):
        last_back = None
    return ImpactWindow(relevant[first][0], last_back)


def events_in(per_step: dict[datetime, float], window: ImpactWindow, until: datetime) -> float:
    """The events of the steps inside the window (steps dated by their start, as
    `increases` dates them): the first one out of objective counts, the first good one
    after it does not."""
    if window.end is None:  # not over: every step up to the last sample
        return sum(value for moment, value in per_step.items() if window.start <= moment <= until)
    return sum(value for moment, value in per_step.items() if window.start <= moment < window.end)


def budget_events(total_in_slo_window: float, objective: float) -> float:
    """How many bad events the SLO allows over its window: (1 − objective) × all events."""
    return (1.0 - objective) * total_in_slo_window


def budget_burned(bad: float, total_in_slo_window: float, objective: float) -> float | None:
    """Bad events as a share of the SLO window's budget (0.37 = 37%); None without
    traffic, where there is no budget to speak of."""
    budget = budget_events(total_in_slo_window, objective)
    return bad / budget if budget > 0 else None


def budget_burned_by_time(
    ratios: Sequence[Point], step: timedelta, window: timedelta, objective: float
) -> float | None:
    """The burn from error ratios alone (an error-ratio SLI has no counts): each sample's
    ratio for one step, over the budget of the SLO window. An estimate, exact only when
    traffic was even: the SRE workbook's burn rate × duration ÷ window."""
    allowed = (1.0 - objective) * window.total_seconds()
    if allowed <= 0:
        return None
    return sum(ratio for _, ratio in ratios) * step.total_seconds() / allowed


@dataclass(frozen=True, slots=True)
class Triggers:
    """When a postmortem is required; None switches a trigger off."""

    budget_burned_percent: float | None = 5.0
    impact_minutes: float | None = 30.0
    detect_minutes: float | None = 15.0
    priorities: tuple[str, ...] = ("P0", "P1")


@dataclass(frozen=True, slots=True)
class SloFacts:
    """What one SLO measured of the incident, as far as it is known (None: unknown)."""

    name: str
    burned: float | None  # 0.37 = 37% of the window's budget
    impact: timedelta | None
    detect: timedelta | None  # impact start → first alert


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a postmortem is required and why: the trigger met first, with its
    figure ("budget", "impact", "detect", "priority", "person"), or why none was."""

    required: bool
    trigger: str
    detail: str  # the figure that met it (e.g. "37.0%", "P1", the SLO's name…)
    slo: str = ""
    # no trigger met, but the SLI figures were incomplete: it may still be required
    unknown: bool = False


def evaluate(
    triggers: Triggers,
    priority: str,
    facts: Sequence[SloFacts],
    promoted_by: str | None = None,
    complete: bool = True,
) -> Verdict:
    """The policy at recovery: a person's say-so first, then the priority, then each
    SLO's burn, impact and detection against the triggers. An incident that meets none
    needs no postmortem; `complete` False says the SLI figures could not all be had."""
    if promoted_by:
        return Verdict(True, "person", promoted_by)
    if priority in triggers.priorities:
        return Verdict(True, "priority", priority)
    for fact in facts:
        limit = triggers.budget_burned_percent
        if limit is not None and fact.burned is not None and fact.burned * 100 >= limit:
            return Verdict(True, "budget", f"{fact.burned * 100:.1f}%", fact.name)
        limit = triggers.impact_minutes
        if limit is not None and fact.impact is not None and fact.impact >= _minutes(limit):
            return Verdict(True, "impact", _minutes_text(fact.impact), fact.name)
        limit = triggers.detect_minutes
        if limit is not None and fact.detect is not None and fact.detect >= _minutes(limit):
            return Verdict(True, "detect", _minutes_text(fact.detect), fact.name)
    return Verdict(False, "none", "", unknown=not complete)


def _minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def _minutes_text(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:.1f}"
