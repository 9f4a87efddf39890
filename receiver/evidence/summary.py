"""What the series did: peaks, time in breach and crossings. Pure functions, no I/O.

"In breach" means a sample satisfies the alert's comparison (above `> 0.05`, below
`< 10`). A sample stands for the time until the next one, at most one step: Prometheus
evaluated the expression at that moment and not again until a step later.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from receiver.evidence.promql import Threshold
from receiver.evidence.series import Series

__all__ = [
    "MAX_BREACHES",
    "SeriesStats",
    "Stats",
    "Summary",
    "breaches",
    "infer_step",
    "peak",
    "summarize",
    "top_by_peak",
]

Interval = tuple[datetime, datetime]
# the breaches kept per series: the latest ones exactly, the earlier merged into one
MAX_BREACHES = 20


@dataclass(frozen=True)
class Stats:
    """Measures of one series, or of all together. Breach fields are None without a
    threshold; a crossing is None when it was not seen (e.g. in breach from the start)."""

    peak: float | None
    peak_at: datetime | None
    breach_time: timedelta | None = None
    breach_time_in_window: timedelta | None = None
    # the first sample in breach after one that was not, and the first sample back to
    # normal after the last breach: when the trouble started and when it ended
    first_crossing: datetime | None = None
    last_crossing: datetime | None = None
    breaching_at_start: bool = False
    breaching_at_end: bool = False


@dataclass(frozen=True)
class SeriesStats:
    series: Series
    stats: Stats


@dataclass(frozen=True)
class Summary:
    """Per series (in the order given) and overall: the overall peak is the highest of
    any series (`peak_series`), overall breach time is when at least one was in breach."""

    per_series: list[SeriesStats]
    overall: Stats
    peak_series: Series | None
    step: timedelta


def summarize(
    series: Sequence[Series],
    threshold: Threshold | None,
    window: tuple[datetime, datetime],
    *,
    step: timedelta | None = None,
) -> Summary:
    """Measure every series; `step` is the query's (inferred from the samples if None)."""
    step = infer_step(series) if step is None else step
    per_series: list[SeriesStats] = []
    breaches: list[list[Interval]] = []
    for one in series:
        intervals = _breach_intervals(one, threshold, step) if threshold else []
        breaches.append(intervals)
        per_series.append(SeriesStats(one, _series_stats(one, threshold, window, intervals)))
    peak_index = _highest(stats.stats for stats in per_series)
    overall = _overall(per_series, breaches, threshold, window, peak_index)
    peak_series = series[peak_index] if peak_index is not None else None
    return Summary(per_series, overall, peak_series, step)


def peak(series: Series) -> tuple[datetime, float] | None:
    """The highest finite sample (the earliest if several are equal), or None."""
    best: tuple[datetime, float] | None = None
    for moment, value in series.points:
        if math.isfinite(value) and (best is None or value > best[1]):
            best = (moment, value)
    return best


def top_by_peak(series: Iterable[Series], n: int) -> list[Series]:
    """The n series with the highest peaks, highest first; ties by labels, so the order
    does not depend on the order Prometheus answered in. Series without samples last."""

    def key(one: Series) -> tuple[bool, float, str]:
        found = peak(one)
        return (found is None, -found[1] if found else 0.0, one.label_text())

    return sorted(series, key=key)[: max(n, 0)]


def breaches(
    series: Series, threshold: Threshold, keep: int = MAX_BREACHES
) -> list[tuple[datetime, datetime | None]]:
    """Each time the series went into breach: its first sample in breach, and the first
    sample back to normal after it (None: still in breach at its last sample). Beyond
    `keep`, the earliest are merged into one breach: longer than it was, never shorter,
    so what is read from them later can only be too cautious, never too early."""
    found: list[tuple[datetime, datetime | None]] = []
    for moment, value in series.points:
        if not math.isfinite(value):
            continue
        in_breach = threshold.holds(value)
        open_breach = bool(found) and found[-1][1] is None
        if in_breach and not open_breach:
            found.append((moment, None))
        elif not in_breach and open_breach:
            found[-1] = (found[-1][0], moment)
    if len(found) > keep > 0:
        merged = len(found) - keep + 1
        found = [(found[0][0], found[merged - 1][1]), *found[merged:]]
    return found


def infer_step(series: Iterable[Series]) -> timedelta:
    """The smallest gap between consecutive samples; zero with fewer than two samples."""
    gaps = [
        later[0] - earlier[0]
        for one in series
        for earlier, later in pairwise(one.points)
        if later[0] > earlier[0]
    ]
    return min(gaps, default=timedelta(0))


def _series_stats(
    series: Series,
    threshold: Threshold | None,
    window: tuple[datetime, datetime],
    intervals: list[Interval],
) -> Stats:
    found = peak(series)
    peak_at, peak_value = found if found else (None, None)
    if threshold is None:
        return Stats(peak_value, peak_at)
    states = [
        (moment, threshold.holds(value)) for moment, value in series.points if math.isfinite(value)
    ]
    first: datetime | None = None
    last: datetime | None = None
    for (_, before), (moment, now) in pairwise(states):
        if now and not before and first is None:
            first = moment
        if before and not now:
            last = moment
    at_end = bool(states) and states[-1][1]
    return Stats(
        peak_value,
        peak_at,
        breach_time=_total(intervals),
        breach_time_in_window=_total(_clip(intervals, window)),
        first_crossing=first,
        last_crossing=None if at_end else last,
        breaching_at_start=bool(states) and states[0][1],
        breaching_at_end=at_end,
    )


def _overall(
    per_series: list[SeriesStats],
    breaches: list[list[Interval]],
    threshold: Threshold | None,
    window: tuple[datetime, datetime],
    peak_index: int | None,
) -> Stats:
    top = Stats(None, None) if peak_index is None else per_series[peak_index].stats
    if threshold is None:
        return Stats(top.peak, top.peak_at)
    stats = [one.stats for one in per_series]
    union = _union(interval for intervals in breaches for interval in intervals)
    at_start = any(one.breaching_at_start for one in stats)
    at_end = any(one.breaching_at_end for one in stats)
    firsts = [one.first_crossing for one in stats if one.first_crossing is not None]
    lasts = [one.last_crossing for one in stats if one.last_crossing is not None]
    return Stats(
        top.peak,
        top.peak_at,
        breach_time=_total(union),
        breach_time_in_window=_total(_clip(union, window)),
        # a series already in breach at the start hides when the trouble began; one still
        # in breach at the end means it had not ended
        first_crossing=None if at_start else min(firsts, default=None),
        last_crossing=None if at_end else max(lasts, default=None),
        breaching_at_start=at_start,
        breaching_at_end=at_end,
    )


def _highest(stats: Iterable[Stats]) -> int | None:
    """The index of the highest peak; the earliest of equal peaks, then the first given."""
    best: tuple[float, datetime, int] | None = None
    for index, one in enumerate(stats):
        if one.peak is None or one.peak_at is None:
            continue
        higher = best is None or one.peak > best[0]
        as_high_but_earlier = best is not None and one.peak == best[0] and one.peak_at < best[1]
        if higher or as_high_but_earlier:
            best = (one.peak, one.peak_at, index)
    return best[2] if best else None


def _breach_intervals(series: Series, threshold: Threshold, step: timedelta) -> list[Interval]:
    """[sample, next sample or sample + step) for every sample in breach, merged."""
    finite = [(moment, value) for moment, value in series.points if math.isfinite(value)]
    intervals: list[Interval] = []
    for index, (moment, value) in enumerate(finite):
        if not threshold.holds(value):
            continue
        end = moment + step
        if index + 1 < len(finite):
            end = min(end, finite[index + 1][0])
        if intervals and intervals[-1][1] >= moment:
            intervals[-1] = (intervals[-1][0], max(intervals[-1][1], end))
        else:
            intervals.append((moment, end))
    return intervals


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and merged[-1][1] >= start:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _clip(intervals: Iterable[Interval], window: tuple[datetime, datetime]) -> list[Interval]:
    low, high = window
    return [
        (max(start, low), min(end, high))
        for start, end in intervals
        if min(end, high) > max(start, low)
    ]


def _total(intervals: Iterable[Interval]) -> timedelta:
    return sum((end - start for start, end in intervals), timedelta(0))
